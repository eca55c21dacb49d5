using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>
/// Runs xorriso through <see cref="ProgramRunner"/> (an argument list, never a shell), feeds every line it prints to
/// the log, bounds its run time, and turns failures into coded errors that quote its last lines.
/// </summary>
public sealed class Xorriso(string program, TimeSpan timeout, Action<string> log)
{
    private const int KeptLines = 6;

    /// <summary>Runs xorriso and returns what it printed (both streams, in order of arrival).</summary>
    public IReadOnlyList<string> Run(IReadOnlyList<string> arguments, CancellationToken cancel)
    {
        var shown = program + " " + string.Join(' ', arguments.Select(Quote));
        log(shown);

        var lines = new List<string>();
        void Collect(string line)
        {
            lock (lines) lines.Add(line);
            log("  " + line);
        }

        // Stopped by the task's cancellation (Ctrl+C) as well as by the token: the whole process group goes.
        var r = ProgramRunner.Run(program, arguments, timeout, cancel, new ProgramOptions { Lines = Collect });
        if (r.NotStarted) throw new CodedError("Media.ToolMissing", program, r.Error.StartsWith(program + ": ", StringComparison.Ordinal) ? r.Error[(program.Length + 2)..] : r.Error);
        if (r.TimedOut) throw new CodedError("Media.ToolTimeout", shown, (int)timeout.TotalSeconds);
        if (r.ExitCode != 0)
            throw new CodedError("Media.ToolFailed", shown, r.ExitCode, string.Join(" | ", lines.TakeLast(KeptLines)));
        return lines;
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "/-_.:+=,".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'";
}
