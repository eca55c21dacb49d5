using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>`dotnet msbuild backup.proj -t:Purge` on a generated project.</summary>
public sealed class PurgeEndToEndTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Purge_target_removes_old_files_and_reports_a_missing_folder()
    {
        var project = new BackupProject(_temp.Path);
        var now = new DateTime(2026, 12, 8, 1, 0, 0, DateTimeKind.Local).ToUniversalTime();
        var old = Aged(Path.Combine(project.StagingDir, "2026/11/23/master/a.tar.gz"), now - TimeSpan.FromDays(15));
        var young = Aged(Path.Combine(project.StagingDir, "2026/12/07/master/b.tar.gz"), now - TimeSpan.FromDays(1));
        var collected = Aged(Path.Combine(project.CollectDir, "c.tar.gz"), now - TimeSpan.FromMinutes(10));
        // A collect the master staged: cback.collect, then the master's cback.stage.
        var indicator = Aged(Path.Combine(project.CollectDir, "cback.collect"), now - TimeSpan.FromMinutes(10));
        File.WriteAllText(Path.Combine(project.CollectDir, "cback.stage"), "");
        project.Item("PurgeDirectory", project.StagingDir, ("RetainDays", "7"));
        project.Item("PurgeDirectory", project.CollectDir, ("RetainDays", "0"));

        var ok = project.Run("Purge", "BackupRunDate=2026-12-08T01:00");

        Assert.True(ok.ExitCode == 0, ok.All);
        Assert.False(File.Exists(old));
        Assert.False(Directory.Exists(Path.GetDirectoryName(old))); // emptied in this run, no subfolders
        Assert.True(Directory.Exists(Path.Combine(project.StagingDir, "2026/11/23"))); // its parent: next run
        Assert.True(File.Exists(young));
        Assert.False(File.Exists(collected));
        Assert.False(File.Exists(indicator));
        Assert.True(File.Exists(Path.Combine(project.CollectDir, "cback.stage"))); // kept: the next Collect reads it
        Assert.DoesNotContain("BKP5100", ok.Output);
        Assert.True(Directory.Exists(project.CollectDir));
        Assert.Contains("BKP5020", ok.Output);

        project.Item("PurgeDirectory", Path.Combine(project.Root, "not-there"), ("RetainDays", "7"));
        var missing = project.Run("Purge", "BackupRunDate=2026-12-08T01:00");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("error BKP5010", missing.Output);
        Assert.False(Directory.Exists(Path.Combine(project.StagingDir, "2026/11/23"))); // the other folders went on
    }

    [Fact]
    public void A_bad_RetainDays_fails_the_build_and_removes_nothing()
    {
        var project = new BackupProject(_temp.Path);
        var old = Aged(Path.Combine(project.CollectDir, "a.tar.gz"), DateTime.UtcNow - TimeSpan.FromDays(30));
        project.Item("PurgeDirectory", project.CollectDir, ("RetainDays", "a week"));

        var result = project.Run("Purge");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error BKP5003", result.Output);
        Assert.True(File.Exists(old));
    }

    private static string Aged(string path, DateTime usedUtc)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "data");
        File.SetLastWriteTimeUtc(path, usedUtc);
        File.SetLastAccessTimeUtc(path, usedUtc);
        return path;
    }
}
