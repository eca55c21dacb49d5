using BackupBuild.Tasks.Restore;
using BackupBuild.Tasks.Verify;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>Every configuration problem of Restore, Find and Verify is reported at once, before anything is read or written.</summary>
[Trait("Tier", "Fast")]
public class RestoreConfigurationTests
{
    [Fact]
    public void Restore_reports_every_problem_at_once_and_writes_nothing()
    {
        using var t = new TempDir();
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles
        {
            BuildEngine = engine, Peer = "", AsOf = "yesterday", Destination = "",
            StagingDir = t["staging"], RestoreSettings = PropsDefaults.Restore(("RestorePath", "etc/hosts"), ("RestoreOverwrite", "perhaps")),
        };
        Assert.False(task.Execute());
        Assert.Equal(new[] { "BKP1006", "BKP1009", "BKP8002", "BKP8003", "BKP8004" }.Order(), engine.ErrorCodes.Order()!);
        Assert.Empty(Directory.EnumerateFileSystemEntries(t.Path));
    }

    [Fact]
    public void Restore_without_any_medium_says_which_it_looked_for()
    {
        using var t = new TempDir();
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles
        {
            BuildEngine = engine, Peer = "web1", Destination = t["out"], StagingDir = t["nothing"], ImageFiles = t["none.iso"],
            RestoreSettings = PropsDefaults.Restore(),
        };
        Assert.False(task.Execute());
        Assert.Equal(new[] { "BKP8001" }, engine.ErrorCodes);
        Assert.Contains(t["none.iso"], engine.AllText);
        Assert.False(Directory.Exists(t["out"]));
    }

    [Fact]
    public void Find_needs_a_pattern_and_verify_a_fraction_between_0_and_1()
    {
        using var t = new TempDir();
        var engine = new FakeBuildEngine();
        Assert.False(new FindFiles { BuildEngine = engine, StagingDir = t.Path, RestoreSettings = PropsDefaults.Restore() }.Execute());
        Assert.Equal(new[] { "BKP8018" }, engine.ErrorCodes);

        engine = new FakeBuildEngine();
        Assert.False(new VerifyStoredArchives { BuildEngine = engine, StagingDir = t.Path, WorkingDir = t["work"], VerifySettings = PropsDefaults.Verify(("VerifyFraction", "1.5")), RunSettings = PropsDefaults.Run() }.Execute());
        Assert.Equal(new[] { "BKP8101" }, engine.ErrorCodes);
        Assert.False(Directory.Exists(t["work"]));
    }
}
