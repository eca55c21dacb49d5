using System.Text;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Two runs of the same action at once: the second waits for the first's lock (BackupLockWaitSeconds) or,
/// with a wait of 0, fails with BKP1004 before touching anything. The "first run" here is the test holding
/// the action's lock file exactly as a run does (flock LOCK_EX through FileShare.None).
/// </summary>
public sealed class ConcurrentRunTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    public static TheoryData<string> Actions => new() { "Collect", "Stage", "Store", "Purge" };

    private (BackupProject Project, string[] Properties, Func<bool> Done) Setup(string action)
    {
        var p = new BackupProject(_t.Path);
        switch (action)
        {
            case "Collect":
                _t.File("src/a.txt", "a");
                p.Item("CollectDirectory", _t["src"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));
                return (p, new[] { "BackupRunDate=2026-11-24T01:00" },
                    () => Directory.Exists(p.CollectDir) && Directory.EnumerateFiles(p.CollectDir, "*.tar").Any());
            case "Stage":
                _t.File("peer/data.tar", "data");
                _t.File("peer/cback.collect");
                p.Item("Peer", "master", ("Type", "local"), ("CollectDir", _t["peer"]));
                return (p, new[] { "BackupRunDate=2026-11-24T01:00" }, () => Directory.Exists(p.StagingDir));
            case "Store":
                _t.File("var/staging/2026/11/24/master/data.tar", "data");
                _t.File("var/staging/2026/11/24/cback.stage");
                p.Property("StoreMediaType", "image");
                return (p, new[] { "BackupRunDate=2026-11-24T02:00" }, () => File.Exists(p.Root + "media/backup.iso"));
            default:
                var old = _t.File("purge/old.txt", "old");
                File.SetLastWriteTimeUtc(old, new DateTime(2026, 1, 1));
                File.SetLastAccessTimeUtc(old, new DateTime(2026, 1, 1));
                p.Item("PurgeDirectory", _t["purge"], ("RetainDays", "7"));
                return (p, new[] { "BackupRunDate=2026-11-24T01:00" }, () => !File.Exists(old));
        }
    }

    private static FileStream HoldLock(BackupProject p, string action)
    {
        Directory.CreateDirectory(p.WorkingDir);
        return new FileStream(Path.Combine(p.WorkingDir, action.ToLowerInvariant() + ".lock"), FileMode.OpenOrCreate,
            FileAccess.ReadWrite, FileShare.None);
    }

    [Theory]
    [MemberData(nameof(Actions))]
    public void A_second_run_with_no_wait_fails_with_BKP1004_and_touches_nothing(string action)
    {
        var (p, properties, done) = Setup(action);
        using (HoldLock(p, action))
        {
            var r = p.Run(action, properties.Append("BackupLockWaitSeconds=0").ToArray());
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("error BKP1004", r.Output);
            Assert.False(done(), action + " did work while another run held its lock");
        }
        var after = p.Run(action, properties);
        Assert.True(after.ExitCode == 0, after.All);
        Assert.True(done());
    }

    [Theory]
    [MemberData(nameof(Actions))]
    public void A_second_run_waits_for_the_first_and_then_does_its_work(string action)
    {
        var (p, properties, done) = Setup(action);
        var output = new StringBuilder();
        System.Diagnostics.Process run;
        using (HoldLock(p, action))
        {
            run = p.Start(output, action, properties.Append("BackupLockWaitSeconds=120").ToArray());
            // Long enough for MSBuild to start and the task to reach the lock.
            Thread.Sleep(TimeSpan.FromSeconds(6));
            Assert.False(run.HasExited, action + " did not wait for the lock:\n" + output);
            Assert.False(done(), action + " did work while another run held its lock");
        }
        using (run)
        {
            Assert.True(run.WaitForExit(TimeSpan.FromMinutes(2)));
            run.WaitForExit();
            Assert.True(run.ExitCode == 0, output.ToString());
        }
        Assert.DoesNotContain("BKP1004", output.ToString());
        Assert.True(done());
    }
}
