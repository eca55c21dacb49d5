using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Support.BackupProject;

namespace BackupBuild.Tests.Deploy;

/// <summary>
/// Every action is X = BeforeX;CoreX;AfterX (docs/development.md, "The lifecycle"): a site's targets and the ActionHook
/// items run before the work when they say before, the extension points have the same shape, and XDependsOn still takes
/// a site's own targets.
/// </summary>
public class LifecycleTests
{
    /// <summary>A target that appends its name (and what it finds on disk) to order.txt.</summary>
    private static string Note(string name, string order, string extra = "", string attributes = "") =>
        $"""<Target Name="{name}"{attributes}><WriteLinesToFile File="{order}" Lines="{name}{extra}" /></Target>""";

    [Fact]
    public void Before_targets_and_pre_hooks_run_before_the_work_after_targets_after_it_extension_points_included()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var order = t["order.txt"];
        var collected = $" collected=$([System.IO.File]::Exists('{p.CollectDir}cback.collect'))";
        var image = p.Root + "media/backup.iso";
        var stored = $" stored=$([System.IO.File]::Exists('{image}'))";
        // A pre-hook of All writes a file into the collected folder: it is archived only if the hook ran before Collect.
        p.Item("ActionHook", "all-before", ("Action", "All"), ("Phase", "before"), ("Command", $"echo from the hook > {t["src/docs/from-hook.txt"]}"))
         // Before the import: runs after BeforeStage, before the work (as StageDependsOn always did).
         .Property("StageDependsOn", "SiteStageStep")
         .Targets(Note("BeforeAll", order) + Note("AfterAll", order)
            + Note("BeforeCollect", order, collected) + Note("AfterCollect", order, collected)
            + Note("BeforeCollectModules", order) + Note("SiteModule", order) + Note("AfterCollectModules", order)
            + Note("BeforeStage", order) + Note("SiteStageStep", order) + Note("AfterStage", order)
            + Note("BeforeEncryptStagedDay", order) + Note("AfterUploadStagedDay", order)
            + Note("BeforeStore", order, stored) + Note("BeforeCheckMediaCapacity", order) + Note("AfterStore", order, stored)
            + Note("BeforePurge", order) + Note("AfterPurge", order) + Note("SiteAfterPurge", order)
            // An extension's module, hooked by its public name (no copy of BackupBuild's targets).
            + Note("BeforeSysinfo", order, "", " BeforeTargets=\"CollectSysinfo\"")
            // After the import: appended lists run after AfterX.
            + """
              <PropertyGroup>
                <CollectModulesDependsOn>$(CollectModulesDependsOn);SiteModule</CollectModulesDependsOn>
                <PurgeDependsOn>$(PurgeDependsOn);SiteAfterPurge</PurgeDependsOn>
              </PropertyGroup>
              """);
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        Assert.Equal([
            "BeforeAll",
            "BeforeCollect collected=False", "BeforeCollectModules", "BeforeSysinfo", "SiteModule", "AfterCollectModules", "AfterCollect collected=True",
            "BeforeStage", "SiteStageStep", "BeforeEncryptStagedDay", "AfterUploadStagedDay", "AfterStage",
            "BeforeStore stored=False", "BeforeCheckMediaCapacity", "AfterStore stored=True",
            "BeforePurge", "AfterPurge", "SiteAfterPurge",
            "AfterAll"], File.ReadAllLines(order));
        var archive = Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/master"), "*src-docs.tar.gz").Single();
        Assert.Contains(TarListing.Names(archive), n => n.EndsWith("src/docs/from-hook.txt", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_work_skips_AfterX_and_the_after_hooks()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var order = t["order.txt"];
        // Stage fails: the peer laptop never collected.
        t.Dir("laptop/collect");
        p.Item("Peer", "laptop", ("Type", "local"), ("CollectDir", t["laptop/collect"]))
         .Item("ActionHook", "stage-before", ("Action", "Stage"), ("Phase", "before"), ("Command", $"echo pre-hook >> {order}"))
         .Item("ActionHook", "stage-after", ("Action", "Stage"), ("Phase", "after"), ("Command", $"echo post-hook >> {order}"))
         .Targets(Note("BeforeStage", order) + Note("AfterStage", order));
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("BKP3023", run.Output);
        Assert.Equal(["pre-hook", "BeforeStage"], File.ReadAllLines(order));
    }
}
