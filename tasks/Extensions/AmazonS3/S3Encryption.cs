using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Cedar's amazons3 "encrypt" option: a command with ${input} and ${output}, run once per non-empty
/// staged file into a scratch folder. Split on spaces into an argument list (no shell), so a
/// path with spaces stays one argument. Run through <see cref="ProgramRunner"/>, stopped after S3EncryptTimeoutSeconds.
/// </summary>
public static class S3Encryption
{
    public static List<S3Transfer.LocalFile> EncryptAll(string command, string dayDir, string outDir, TimeSpan timeout, CancellationToken cancel)
    {
        var result = new List<S3Transfer.LocalFile>();
        foreach (var f in S3Settings.Files(dayDir, ""))
        {
            var output = Path.Combine(outDir, f.Key);
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            if (new FileInfo(f.Path).Length == 0) File.Copy(f.Path, output);
            else Run(command, f.Path, output, timeout, cancel);
            result.Add(new S3Transfer.LocalFile(output, f.Key));
        }
        return result;
    }

    private static void Run(string command, string input, string output, TimeSpan timeout, CancellationToken cancel)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Replace("${input}", input).Replace("${output}", output)).ToList();
        // Standard output is read and dropped, as Cedar does; the command is the site's, so a passphrase on it is not logged.
        var r = ProgramRunner.Run(words[0], words.Skip(1), timeout, cancel, new ProgramOptions { OutputTo = Stream.Null });
        if (r.NotStarted)
            throw new CodedError("S3.EncryptFailed", input, words[0], r.Error.StartsWith(words[0] + ": ", StringComparison.Ordinal) ? r.Error[(words[0].Length + 2)..] : r.Error);
        if (r.TimedOut) throw new CodedError("S3.EncryptTimeout", input, words[0], (int)timeout.TotalSeconds);
        if (r.ExitCode != 0 || !File.Exists(output))
            throw new CodedError("S3.EncryptFailed", input, words[0], $"exit code {r.ExitCode}: {r.Error.Trim()}");
    }
}
