using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>`dotnet msbuild backup.proj -t:Stage` on a generated project, with collect dirs prepared by hand.</summary>
public sealed class StageEndToEndTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Stage_target_stages_ready_peers_and_fails_the_build_for_an_unready_one()
    {
        var project = new BackupProject(_temp.Path);
        var ghostCollect = _temp.Dir("ghost-collect");
        project.Item("Peer", "master", ("Type", "local"), ("CollectDir", project.CollectDir));
        project.Item("Peer", "ghost", ("Type", "local"), ("CollectDir", ghostCollect), ("IgnoreFailures", "daily"));
        Directory.CreateDirectory(project.CollectDir);
        File.WriteAllText(Path.Combine(project.CollectDir, "srv-data-daily.tar.gz"), "archive");
        File.WriteAllText(Path.Combine(project.CollectDir, Indicators.Collect), "");

        // Wednesday: ghost's daily failures are forgiven.
        var wednesday = project.Run("Stage", "BackupRunDate=2026-11-25T01:00");
        Assert.True(wednesday.ExitCode == 0, wednesday.All);
        var day = Path.Combine(project.StagingDir, "2026", "11", "25");
        Assert.Equal("archive", File.ReadAllText(Path.Combine(day, "master", "srv-data-daily.tar.gz")));
        Assert.True(File.Exists(Path.Combine(day, Indicators.Stage)));
        Assert.True(File.Exists(Path.Combine(project.CollectDir, Indicators.Stage)));
        Assert.Contains("BKP3024", wednesday.Output);
        Assert.Contains("BKP3040", wednesday.Output);

        // Monday starts the week: not forgiven, the build fails, master is staged all the same.
        var monday = project.Run("Stage", "BackupRunDate=2026-11-23T01:00");
        Assert.Equal(1, monday.ExitCode);
        Assert.Contains("error BKP3023", monday.Output);
        Assert.True(File.Exists(Path.Combine(project.StagingDir, "2026", "11", "23", "master", "srv-data-daily.tar.gz")));
    }

    [Fact]
    public void Configuration_problems_fail_the_build_before_anything_is_staged()
    {
        var project = new BackupProject(_temp.Path);
        project.Item("Peer", "master", ("Type", "lokal"), ("CollectDir", "relative/collect"), ("IgnoreFailures", "never"));

        var result = project.Run("Stage", "BackupRunDate=2026-11-25T01:00");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error BKP3005", result.Output);
        Assert.Contains("error BKP3007", result.Output);
        Assert.Contains("error BKP3008", result.Output);
        Assert.False(Directory.Exists(project.StagingDir));
    }
}
