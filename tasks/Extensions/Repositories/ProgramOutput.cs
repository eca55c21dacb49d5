using System.Diagnostics;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Repositories;

/// <summary>
/// Runs a program with an argument list (no shell) and streams its standard output, which may be
/// large and binary (a repository dump), into a file that appears only when the program succeeded.
/// </summary>
public static class ProgramOutput
{
    public sealed record Outcome(int ExitCode, string Error, bool TimedOut, long Bytes);

    /// <summary>
    /// Writes the program's output to <paramref name="finalPath"/> atomically. Returns the outcome;
    /// the file is published only when <paramref name="accept"/> says the exit code is a success.
    /// </summary>
    /// <param name="input">The program's standard input (none when null).</param>
    public static Outcome ToFile(string finalPath, DumpCompression compression, string program, IEnumerable<string> args,
        TimeSpan timeout, CancellationToken cancel, Func<int, bool>? accept = null, Stream? input = null)
    {
        accept ??= code => code == 0;
        Outcome? outcome = null;
        try
        {
            AtomicFile.Write(finalPath, file =>
            {
                var sink = new CompressedOutput(file, compression);
                outcome = Run(program, args, timeout, cancel, sink, input: input);
                if (!accept(outcome.ExitCode) || outcome.TimedOut) throw new ProgramFailedException();
                sink.Complete();
            });
        }
        catch (ProgramFailedException)
        {
        }
        return outcome!;
    }

    /// <summary>
    /// Runs the program, copying its standard output into <paramref name="sink"/>; <paramref name="input"/>, when
    /// given, is copied to its standard input (then closed), so a file the program reads need not be named to it.
    /// </summary>
    public static Outcome Run(string program, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancel, Stream sink,
        IReadOnlyDictionary<string, string>? environment = null, Stream? input = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["LC_ALL"] = "C";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new Outcome(127, $"{program}: {e.Message}", false, 0);
        }
        var feed = input == null ? Task.CompletedTask : Task.Run(() => Feed(process, input));
        if (input == null) process.StandardInput.Close();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        long bytes = 0;
        using (limit.Token.Register(() => Kill(process)))
        {
            var buffer = new byte[1 << 16];
            var stdout = process.StandardOutput.BaseStream;
            int n;
            while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0)
            {
                sink.Write(buffer, 0, n);
                bytes += n;
            }
            process.WaitForExit();
        }
        feed.Wait();
        cancel.ThrowIfCancellationRequested();
        var timedOut = limit.IsCancellationRequested;
        return new Outcome(process.ExitCode, error.Result.Trim(), timedOut, bytes);
    }

    private static void Feed(Process process, Stream input)
    {
        // A program that stops reading early (or is killed) closes the pipe: the rest is not needed.
        try { input.CopyTo(process.StandardInput.BaseStream); } catch (IOException) { }
        try { process.StandardInput.Close(); } catch (IOException) { }
    }

    /// <summary>The last lines of a program's error output, for a one-line log message.</summary>
    public static string Summary(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no message)" : string.Join(" ", lines.TakeLast(3));
    }

    private static void Kill(Process p)
    {
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
    }

    private sealed class ProgramFailedException : Exception { }
}
