using BackupBuild.Tasks.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

[Collection("CollectArchives progress interval")]
[Trait("Tier", "Fast")]
public class CollectArchivesTests
{
    private static CollectArchives Task(TempDir t, FakeBuildEngine engine, params Microsoft.Build.Framework.ITaskItem[] dirs) => new()
    {
        BuildEngine = engine,
        CollectDirectories = dirs,
        CollectDir = t["var/collect"],
        WorkingDir = t["var/work"],
        RunSettings = PropsDefaults.Run("2026-11-24T01:00"),
        CollectSettings = PropsDefaults.Collect(("CompressionThreads", "2")),
    };

    [Fact]
    public void Long_archives_report_progress_while_they_run()
    {
        using var t = new TempDir();
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var data = new byte[64 * 1024];
            random.NextBytes(data);
            File.WriteAllBytes(t.File($"src/d{i % 10}/f{i}.bin"), data);
        }
        var engine = new FakeBuildEngine();
        var saved = CollectArchives.ProgressInterval;
        CollectArchives.ProgressInterval = TimeSpan.FromMilliseconds(5);
        try
        {
            Assert.True(Task(t, engine, PropsDefaults.Defined("CollectDirectory", t["src"])).Execute(), engine.AllText);
        }
        finally
        {
            CollectArchives.ProgressInterval = saved;
        }
        Assert.True(engine.Messages.Any(m => m.Message!.StartsWith("Collect " + t["src"] + ":") && m.Message.Contains(" files checked, ")), engine.AllText);
        Assert.Contains(engine.Messages, m => m.Message!.StartsWith("Collected " + t["src"] + ": 300 files"));
    }

    [Fact]
    public void A_damaged_incremental_state_is_a_warning_and_everything_is_archived_again()
    {
        using var t = new TempDir();
        t.File("src/a.txt", "a");
        t.File("src/b.txt", "b");
        var item = PropsDefaults.Defined("CollectDirectory", t["src"], ("CollectMode", "incr"));
        var first = new FakeBuildEngine();
        Assert.True(Task(t, first, item).Execute(), first.AllText);

        var state = Directory.GetFiles(t["var/work"], "*.state").Single();
        var bytes = File.ReadAllBytes(state);
        bytes[^1] ^= 0x55;
        File.WriteAllBytes(state, bytes);
        Directory.Delete(t["var/collect"], true);

        var second = new FakeBuildEngine();
        var task = Task(t, second, item);
        task.RunSettings = PropsDefaults.Run("2026-11-25T01:00");
        Assert.True(task.Execute(), second.AllText);
        Assert.Contains("BKP2005", second.WarningCodes);
        Assert.Contains(second.Messages, m => m.Message!.StartsWith("Collected " + t["src"] + ": 2 files"));
    }
}

[Trait("Tier", "Fast")]
public class CollectOnlyModulesTests
{
    [Fact]
    public void A_machine_with_only_module_dumps_gets_its_collect_indicator()
    {
        using var t = new TempDir();
        var engine = new FakeBuildEngine();
        var task = new CollectArchives { BuildEngine = engine, CollectDir = t["collect"], WorkingDir = t["work"], RunSettings = PropsDefaults.Run(), CollectSettings = PropsDefaults.Collect() };
        Assert.False(task.Execute());
        Assert.Contains("BKP1029", engine.ErrorCodes);

        t.File("collect/mysqldump.txt.bz2", "dump");
        var again = new FakeBuildEngine();
        Assert.True(new CollectArchives { BuildEngine = again, CollectDir = t["collect"], WorkingDir = t["work"], RunSettings = PropsDefaults.Run(), CollectSettings = PropsDefaults.Collect() }.Execute(), again.AllText);
        Assert.True(File.Exists(t["collect/cback.collect"]));
    }
}
