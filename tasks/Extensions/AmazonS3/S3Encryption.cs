using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Cedar's amazons3 "encrypt" option: a command with ${input} and ${output}, run once per non-empty
/// staged file into a scratch folder. Split on spaces into an argument list (no shell), so a
/// path with spaces stays one argument.
/// </summary>
public static class S3Encryption
{
    public static List<S3Transfer.LocalFile> EncryptAll(string command, string dayDir, string outDir, CancellationToken cancel)
    {
        var result = new List<S3Transfer.LocalFile>();
        foreach (var f in S3Settings.Files(dayDir, ""))
        {
            var output = Path.Combine(outDir, f.Key);
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            if (new FileInfo(f.Path).Length == 0) File.Copy(f.Path, output);
            else Run(command, f.Path, output, cancel);
            result.Add(new S3Transfer.LocalFile(output, f.Key));
        }
        return result;
    }

    private static void Run(string command, string input, string output, CancellationToken cancel)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Replace("${input}", input).Replace("${output}", output)).ToList();
        var info = new ProcessStartInfo(words[0]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var w in words.Skip(1)) info.ArgumentList.Add(w);
        Process p;
        try { p = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new CodedError("S3.EncryptFailed", input, words[0], e.Message); }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync(cancel);
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(output))
                throw new CodedError("S3.EncryptFailed", input, words[0], $"exit code {p.ExitCode}: {stderr.Result.Trim()}");
        }
    }
}
