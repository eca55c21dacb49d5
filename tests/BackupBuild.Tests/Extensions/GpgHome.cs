using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Extensions;

/// <summary>A gpg home folder with one key made by the test (ed25519 + cv25519, no passphrase); its agent stopped afterwards.</summary>
public sealed class GpgHome : IDisposable
{
    public const string Recipient = "backup-test@example.test";

    public GpgHome(string path)
    {
        Tool.Require("gpg");
        Path = path;
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var r = Gpg("--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", $"Backup Test <{Recipient}>", "future-default", "default", "never");
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException("gpg could not make a key: " + r.All);
    }

    public string Path { get; }

    public Tool.Result Gpg(params string[] args) =>
        Tool.RunWith(null, null, TimeSpan.FromMinutes(2), "gpg", new[] { "--batch", "--no-tty", "--homedir", Path }.Concat(args).ToArray());

    /// <summary>Decrypts a file with the test's secret key, returning the plaintext.</summary>
    public byte[] Decrypt(string file, string outputDir)
    {
        var output = System.IO.Path.Combine(outputDir, System.IO.Path.GetFileName(file) + ".plain");
        var r = Gpg("--pinentry-mode", "loopback", "--passphrase", "", "--yes", "--output", output, "--decrypt", file);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException($"gpg could not decrypt {file}: {r.All}");
        return File.ReadAllBytes(output);
    }

    public void Dispose() => Tool.Run("gpgconf", "--homedir", Path, "--kill", "all");
}
