using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Encrypt;

/// <summary>
/// gpg run with argument lists and a bounded run time: the recipient check before anything is touched, and one
/// file encrypted to a given output. Cedar's command: gpg --batch --yes -e -r RECIPIENT -o OUT FILE.
/// </summary>
public sealed class GpgEncryption(string program, string? homeDir, string recipient, TimeSpan timeout, CancellationToken cancel)
{
    private IEnumerable<string> Common()
    {
        yield return "--batch";
        yield return "--no-tty";
        if (homeDir != null) { yield return "--homedir"; yield return homeDir; }
    }

    /// <summary>Null when gpg has a public key for the recipient that can encrypt; else the error to log.</summary>
    public CodedError? CheckRecipient()
    {
        var r = ProgramRunner.Run(program, Common().Concat(["--with-colons", "--list-keys", "--", recipient]), timeout, cancel, new ProgramOptions { CLocale = true });
        if (Missing(r)) return new CodedError("Encrypt.NoGpg", program, r.Error.Trim());
        if (r.TimedOut) return new CodedError("Encrypt.Timeout", program + " --list-keys", (int)timeout.TotalSeconds);
        // Field 12 of a "pub" line: the capabilities of the whole key; an upper-case E means one usable subkey encrypts.
        var usable = r.ExitCode == 0 && r.Output.Split('\n').Any(l => l.StartsWith("pub:", StringComparison.Ordinal)
            && l.Split(':') is { Length: > 11 } f && f[11].Contains('E'));
        if (usable) return null;
        var why = r.ExitCode == 0 ? "the key cannot encrypt (expired, revoked or signing only)" : Last(r.Error);
        return new CodedError("Encrypt.UnknownRecipient", recipient, homeDir ?? "~/.gnupg", why);
    }

    /// <summary>Encrypts <paramref name="input"/> into <paramref name="output"/>; throws a coded error on failure.</summary>
    public void Encrypt(string input, string output)
    {
        var args = Common().Concat(["--yes", "--encrypt", "--recipient", recipient, "--output", output, "--", input]);
        var r = ProgramRunner.Run(program, args, timeout, cancel, new ProgramOptions { CLocale = true });
        if (Missing(r)) throw new CodedError("Encrypt.NoGpg", program, r.Error.Trim());
        if (r.TimedOut) throw new CodedError("Encrypt.Timeout", program + " --encrypt " + input, (int)timeout.TotalSeconds);
        if (r.ExitCode != 0) throw new CodedError("Encrypt.Failed", input, r.ExitCode, Last(r.Error));
    }

    private static bool Missing(ProgramResult r) => r.NotStarted;

    private static string Last(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no message" : string.Join(" / ", lines.TakeLast(2));
    }
}
