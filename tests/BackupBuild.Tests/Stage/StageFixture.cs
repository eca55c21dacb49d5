using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;

namespace BackupBuild.Tests.Stage;

/// <summary>A master with a staging root, a working dir and one collect dir per peer, all in a temp folder.</summary>
public sealed class StageFixture : IDisposable
{
    // 2026-11-23 is a Monday: the start of the week with the default StartingDay.
    public const string Monday = "2026-11-23T01:00";
    public const string Wednesday = "2026-11-25T01:00";

    public TempDir Temp { get; } = new();
    public string StagingDir => Temp["staging"];
    public string WorkingDir => Temp["work"];
    public FakeBuildEngine Engine { get; private set; } = new();
    public string StagingDay { get; private set; } = "";

    public string CollectDir(string peer) => Temp["collect-" + peer];

    public string Day(string runDate) =>
        Path.Combine(StagingDir, RunClock.DayPath(DateTime.Parse(runDate, System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>A collect dir as Collect leaves it: archives, then cback.collect.</summary>
    public string ReadyPeer(string peer, params (string Name, string Content)[] files)
    {
        foreach (var (name, content) in files) Temp.File(Path.Combine("collect-" + peer, name), content);
        Temp.File(Path.Combine("collect-" + peer, Indicators.Collect));
        return CollectDir(peer);
    }

    public static ITaskItem Peer(string name, string collectDir, string ignoreFailures = "none", string type = "local") =>
        PropsDefaults.Defined("Peer", name, ("Type", type), ("CollectDir", collectDir), ("IgnoreFailures", ignoreFailures));

    public ITaskItem Peer(string name, string ignoreFailures = "none") => Peer(name, CollectDir(name), ignoreFailures);

    public bool Run(ITaskItem[] peers, string runDate = Wednesday, string full = "false", string? stagingDir = null,
        string lockWait = "5", bool cancelled = false)
    {
        Engine = new FakeBuildEngine();
        var task = new StagePeers
        {
            BuildEngine = Engine,
            Peers = peers,
            StagingDir = stagingDir ?? StagingDir,
            WorkingDir = WorkingDir,
            RunSettings = PropsDefaults.Run(runDate, lockWait, full),
            SshSettings = PropsDefaults.Ssh(),
        };
        if (cancelled) task.Cancel();
        var ok = task.Execute();
        StagingDay = task.StagingDay;
        return ok;
    }

    /// <summary>Codes of High-importance messages (our message strings start with their code).</summary>
    public IEnumerable<string> MessageCodes =>
        Engine.Messages.Select(m => m.Message ?? "").Where(m => m.StartsWith("BKP")).Select(m => m[..7]);

    public void Dispose() => Temp.Dispose();
}
