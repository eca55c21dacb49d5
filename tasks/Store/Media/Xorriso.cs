using System.ComponentModel;
using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>
/// Runs xorriso with an argument list (never a shell), feeds every line it prints to the log, bounds its run
/// time, and turns failures into coded errors that quote its last lines.
/// </summary>
public sealed class Xorriso(string program, TimeSpan timeout, Action<string> log)
{
    private const int KeptLines = 6;

    /// <summary>Runs xorriso and returns what it printed (both streams, in order of arrival).</summary>
    public IReadOnlyList<string> Run(IReadOnlyList<string> arguments, CancellationToken cancel)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        var shown = program + " " + string.Join(' ', arguments.Select(Quote));
        log(shown);

        var lines = new List<string>();
        void Collect(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data == null) return;
            lock (lines) lines.Add(e.Data);
            log("  " + e.Data);
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new CodedError("Media.ToolMissing", program, e.Message);
        }
        process.StandardInput.Close(); // xorriso never waits for a dialog answer
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using (cancel.Register(() => Kill(process)))
        {
            if (!process.WaitForExit((int)Math.Min(int.MaxValue, timeout.TotalMilliseconds)))
            {
                Kill(process);
                process.WaitForExit();
                throw new CodedError("Media.ToolTimeout", shown, (int)timeout.TotalSeconds);
            }
            process.WaitForExit(); // drains the output events
        }
        cancel.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
            throw new CodedError("Media.ToolFailed", shown, process.ExitCode, string.Join(" | ", lines.TakeLast(KeptLines)));
        return lines;
    }

    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "/-_.:+=,".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'";
}
