using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store;
using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Store;

/// <summary>
/// A master's staging root, working dir and medium in a temp folder, with Store, Rebuild and Initialize run in
/// process through the fake engine, each as of a run date. Days are staged as Stage leaves them.
/// </summary>
public sealed class MediaRig : IDisposable
{
    public TempDir Temp { get; } = new();
    public string StagingDir => Temp["staging"];
    public string WorkingDir => Temp["work"];
    public string Image => Temp["media/backup.iso"];

    /// <summary>Store properties by their name without "Store" (MediaType, ImageCapacity, Device, CheckData…), or Full, StartingDay.</summary>
    public Dictionary<string, string> Properties { get; } = new() { ["MediaType"] = "image", ["ImageCapacity"] = "5 MB" };

    public FakeBuildEngine Engine { get; private set; } = new();

    /// <summary>Runs between writing and reading back, with the medium's name: where tests damage the medium.</summary>
    public Action<string>? AfterWrite { get; set; }

    public string DayDir(string date) => Path.Combine(StagingDir, RunClock.DayPath(DateTime.Parse(date[..10], System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>A staged day: peer "master" with cback.collect and an archive of random bytes, then cback.stage.</summary>
    public string StageDay(string date, int kilobytes = 200, int seed = 1)
    {
        var day = DayDir(date);
        var bytes = new byte[kilobytes * 1024];
        new Random(seed).NextBytes(bytes);
        Directory.CreateDirectory(Path.Combine(day, "master"));
        File.WriteAllBytes(Path.Combine(day, "master/srv-data-daily.tar.gz"), bytes);
        File.WriteAllText(Path.Combine(day, "master", Indicators.Collect), "");
        File.WriteAllText(Path.Combine(day, Indicators.Stage), "");
        return day;
    }

    public bool Store(string runDate, params (string Name, string Value)[] extra) => Run(new StoreDay(), runDate, extra);

    public bool Rebuild(string runDate, params (string Name, string Value)[] extra) => Run(new RebuildMedium(), runDate, extra);

    public bool Initialize(string runDate, params (string Name, string Value)[] extra) => Run(new InitializeMedium(), runDate, extra);

    private bool Run(MediaTask task, string runDate, (string Name, string Value)[] extra)
    {
        Engine = new FakeBuildEngine();
        task.BuildEngine = Engine;
        task.StagingDir = StagingDir;
        task.WorkingDir = WorkingDir;
        task.AfterWrite = AfterWrite;
        var run = new List<(string, string)> { ("BackupRunDate", runDate), ("BackupLockWaitSeconds", "5") };
        var store = new List<(string, string)> { ("StoreImageFile", Image) };
        foreach (var (name, value) in Properties.Select(p => (p.Key, p.Value)).Concat(extra))
        {
            switch (name)
            {
                case "Full" or "StartingDay": run.Add((name, value)); break;
                case "StagingDir": task.StagingDir = value; break;
                case "WorkingDir": task.WorkingDir = value; break;
                case "CollectDir": task.CollectDir = value; break;
                // The task's old parameter names (MediaType, CheckData…) are the properties without "Store".
                case "Xorriso": store.Add(("StoreXorrisoPath", value)); break;
                default: store.Add((name.StartsWith("Store", StringComparison.Ordinal) ? name : "Store" + name, value)); break;
            }
        }
        task.RunSettings = PropsDefaults.Run(run.ToArray());
        task.StoreSettings = PropsDefaults.Store(store.ToArray());
        return task.Execute();
    }

    /// <summary>Every staged file of a day but cback.store (written after the medium), relative path → bytes.</summary>
    public Dictionary<string, byte[]> Staged(string date)
    {
        var files = Snapshot.Contents(DayDir(date));
        files.Remove(Indicators.Store);
        return files;
    }

    public void Dispose() => Temp.Dispose();
}
