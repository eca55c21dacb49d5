using System.Globalization;
using BackupBuild.Tasks.Purge;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;

namespace BackupBuild.Tests.Purge;

/// <summary>Folders to purge in a temp folder, with files whose times are set relative to the run's "now".</summary>
public sealed class PurgeFixture : IDisposable
{
    public const string RunDate = "2026-12-08T01:00";

    public TempDir Temp { get; } = new();
    public string WorkingDir => Temp["work"];
    public FakeBuildEngine Engine { get; private set; } = new();

    /// <summary>The run's "now" as an instant, so ages are exact whatever the time zone does.</summary>
    public static DateTime NowUtc(string runDate = RunDate) =>
        DateTime.ParseExact(runDate, "yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal).ToUniversalTime();

    /// <summary>A file last read and written <paramref name="age"/> before the run.</summary>
    public string File(string relative, TimeSpan age, string content = "x") =>
        Used(Temp.File(relative, content), NowUtc() - age, NowUtc() - age);

    public static string Used(string path, DateTime accessUtc, DateTime writeUtc)
    {
        System.IO.File.SetLastWriteTimeUtc(path, writeUtc);
        System.IO.File.SetLastAccessTimeUtc(path, accessUtc);
        return path;
    }

    public static ITaskItem Dir(string path, string retainDays) => Items.Of(path, ("RetainDays", retainDays));

    public bool Run(params ITaskItem[] dirs) => RunAt(RunDate, dirs);

    public bool RunAt(string runDate, params ITaskItem[] dirs)
    {
        Engine = new FakeBuildEngine();
        var task = new PurgeFiles
        {
            BuildEngine = Engine,
            PurgeDirectories = dirs,
            WorkingDir = WorkingDir,
            RunSettings = PropsDefaults.Run(runDate),
            PurgeSettings = PropsDefaults.Purge(),
        };
        return task.Execute();
    }

    public IEnumerable<string> MessageCodes =>
        Engine.Messages.Select(m => m.Message ?? "").Where(m => m.StartsWith("BKP")).Select(m => m[..7]);

    public void Dispose() => Temp.Dispose();
}
