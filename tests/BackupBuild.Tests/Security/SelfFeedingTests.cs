using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// The self-feeding corpus (issue 15, class 8): configurations where the backup's own output lies inside what
/// it reads, so each run archives, stages or stores the previous one. Cedar Backup 3 collects such folders
/// silently (its collect action has no exclusion for its own collect dir); BackupBuild refuses them with a
/// coded error from Validate and from the action, before anything is written. Each test runs the real
/// `dotnet msbuild` and checks the file system afterwards.
/// </summary>
public sealed class SelfFeedingTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    private BackupProject Project()
    {
        var project = new BackupProject(_t.Dir("proj"));
        _t.File("data/a.txt", new string('a', 4000));
        _t.File("data/sub/b.txt", new string('b', 4000));
        return project;
    }

    [Fact]
    public void A_CollectDir_inside_a_CollectDirectory_is_refused_and_five_runs_write_nothing()
    {
        var project = Project();
        project.Item("CollectDirectory", _t["data"]);
        project.Property("CollectDir", _t["data/collect/"]);

        for (var day = 23; day <= 27; day++)
        {
            var run = project.Run("Collect", $"BackupRunDate=2026-11-{day}T01:00", "Full=true");
            Assert.True(run.ExitCode == 1, run.All);
            Assert.Contains("error BKP1600", run.Output);
            Assert.False(Directory.Exists(_t["data/collect"]) && Directory.EnumerateFileSystemEntries(_t["data/collect"]).Any(),
                "Collect wrote into the refused collect dir");
        }
        Assert.Equal(new[] { "a.txt", "sub" }, Directory.GetFileSystemEntries(_t["data"]).Select(Path.GetFileName).Order());

        var validate = project.Run("Validate");
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains("error BKP1600", validate.Output);
    }

    [Fact]
    public void With_the_collect_dir_excluded_five_runs_do_not_make_the_archive_grow()
    {
        var project = Project();
        project.Item("CollectDirectory", _t["data"], ("RelativeExcludePaths", "collect"));
        project.Property("CollectDir", _t["data/collect/"]);

        long? first = null;
        List<string>? firstEntries = null;
        for (var day = 23; day <= 27; day++)
        {
            var run = project.Run("Collect", $"BackupRunDate=2026-11-{day}T01:00", "Full=true");
            Assert.True(run.ExitCode == 0, run.All);
            var archive = Assert.Single(Directory.GetFiles(_t["data/collect"], "*.tar.gz"));
            var entries = Tool.Run("tar", "-tzf", archive).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToList();
            Assert.DoesNotContain(entries, e => e.Contains("/collect/", StringComparison.Ordinal) || e.EndsWith("/collect", StringComparison.Ordinal));
            var size = new FileInfo(archive).Length;
            first ??= size;
            firstEntries ??= entries;
            Assert.Equal(firstEntries, entries);
            Assert.True(size <= first + 512, $"run {day}: the archive grew from {first} to {size} bytes");
        }
    }

    // name, CollectDirectory item ({T}), properties "Name=Value;…" ({T}), code
    public static TheoryData<string, string, string, string> Outputs => new()
    {
        { "WorkingDir inside a collected folder", "{T}/data", "WorkingDir={T}/data/work/", "BKP1600" },
        { "StagingDir inside a collected folder", "{T}/data", "StagingDir={T}/data/staging/", "BKP1600" },
        { "StoreImageFile inside a collected folder", "{T}/data", "StoreImageFile={T}/data/media/backup.iso", "BKP1600" },
        { "CollectDir equal to the collected folder", "{T}/data", "CollectDir={T}/data/", "BKP1600" },
        { "CollectDir inside a collected folder reached through a link", "{T}/datalink", "CollectDir={T}/data/collect/", "BKP1600" },
        { "CollectDir inside, pattern excluding another folder", "{T}/data", "CollectDir={T}/data/collect/;CollectExcludePatterns=.*/other", "BKP1600" },
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void Collect_and_Validate_refuse_an_output_inside_a_collected_folder(string name, string include, string properties, string code)
    {
        var project = Project();
        Directory.CreateSymbolicLink(_t["datalink"], _t["data"]);
        project.Item("CollectDirectory", include.Replace("{T}", _t.Path));
        foreach (var p in properties.Replace("{T}", _t.Path).Split(';'))
            project.Property(p[..p.IndexOf('=')], p[(p.IndexOf('=') + 1)..]);
        var before = Tree(_t["data"]);

        var collect = project.Run("Collect", "BackupRunDate=2026-11-23T01:00");
        Assert.True(collect.ExitCode == 1, name + "\n" + collect.All);
        Assert.Contains("error " + code, collect.Output);
        PurgeGuardTests.Same(before, Tree(_t["data"]));                       // nothing written inside the collected folder
        Assert.False(Directory.Exists(project.CollectDir) && Directory.EnumerateFiles(project.CollectDir, "*", SearchOption.AllDirectories).Any());

        var validate = project.Run("Validate");
        Assert.True(validate.ExitCode == 1, name + "\n" + validate.All);
        Assert.Contains("error " + code, validate.Output);
    }

    [Fact]
    public void Excluding_by_pattern_or_ignore_file_is_accepted()
    {
        var project = Project();
        project.Item("CollectDirectory", _t["data"], ("ExcludePatterns", ".*/data/coll.*"));
        project.Item("CollectDirectory", _t["data2"]);
        _t.File("data2/x.txt", "x");
        _t.File("data2/work/.cbignore", "");
        project.Property("CollectDir", _t["data/collect/"]);
        project.Property("WorkingDir", _t["data2/work/"]);

        var validate = project.Run("Validate");
        Assert.True(validate.ExitCode == 0, validate.All);
        Assert.DoesNotContain("BKP1600", validate.Output);
        var collect = project.Run("Collect", "BackupRunDate=2026-11-23T01:00");
        Assert.True(collect.ExitCode == 0, collect.All);
        foreach (var archive in Directory.GetFiles(_t["data/collect"], "*.tar.gz"))
            Assert.DoesNotContain(Tool.Run("tar", "-tzf", archive).Output.Split('\n'),
                e => e.Contains("/collect/", StringComparison.Ordinal) || e.Contains("/work/", StringComparison.Ordinal));
    }

    [Fact]
    public void A_CollectFile_inside_the_collect_dir_is_refused()
    {
        var project = Project();
        project.Item("CollectDirectory", _t["data"]);
        var own = _t.File("proj/var/collect/old.tar.gz", "previous archive");
        project.Item("CollectFile", own);

        var collect = project.Run("Collect", "BackupRunDate=2026-11-23T01:00");

        Assert.Equal(1, collect.ExitCode);
        Assert.Contains("error BKP1603", collect.Output);
        Assert.Equal(new[] { "old.tar.gz" }, Directory.GetFileSystemEntries(project.CollectDir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("")]          // StagingDir equal to the collect dir
    [InlineData("staging/")]  // inside it
    public void Stage_and_Validate_refuse_a_StagingDir_in_the_collect_dir(string below)
    {
        var project = Project();
        project.Item("Peer", "master", ("Type", "local"), ("CollectDir", project.CollectDir));
        project.Property("StagingDir", project.CollectDir + below);
        Directory.CreateDirectory(project.CollectDir);
        File.WriteAllText(Path.Combine(project.CollectDir, "srv-data.tar.gz"), "archive");
        File.WriteAllText(Path.Combine(project.CollectDir, Indicators.Collect), "");
        var before = Tree(project.CollectDir);

        var stage = project.Run("Stage", "BackupRunDate=2026-11-25T01:00");
        Assert.True(stage.ExitCode == 1, stage.All);
        Assert.Contains("error BKP1601", stage.Output);
        PurgeGuardTests.Same(before, Tree(project.CollectDir)); // no day folder, no cback.stage

        var validate = project.Run("Validate");
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains("error BKP1601", validate.Output);
    }

    [Fact]
    public void Store_and_Validate_refuse_an_image_inside_the_collect_or_staging_dir()
    {
        var project = Project();
        project.Item("CollectDirectory", _t["data"]);
        project.Item("Peer", "master", ("Type", "local"), ("CollectDir", project.CollectDir));
        var staged = project.Run("Collect;Stage", "BackupRunDate=2026-11-25T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);
        var day = Path.Combine(project.StagingDir, "2026/11/25");

        foreach (var image in new[] { project.CollectDir + "backup.iso", project.StagingDir + "backup.iso" })
        {
            var collectBefore = Tree(project.CollectDir);
            var stagingBefore = Tree(project.StagingDir);
            var store = project.Run("Store", "BackupRunDate=2026-11-25T01:00", "StoreImageFile=" + image);
            Assert.True(store.ExitCode == 1, store.All);
            Assert.Contains("error BKP1602", store.Output);
            Assert.False(File.Exists(image));
            Assert.False(File.Exists(Path.Combine(day, Indicators.Store)));
            PurgeGuardTests.Same(collectBefore, Tree(project.CollectDir));
            PurgeGuardTests.Same(stagingBefore, Tree(project.StagingDir));

            var validate = project.Run("Validate", "StoreImageFile=" + image);
            Assert.Equal(1, validate.ExitCode);
            Assert.Contains("error BKP1602", validate.Output);
        }

        // The same day with the image in its own folder is stored: the refusal above was the only obstacle.
        var ok = project.Run("Store", "BackupRunDate=2026-11-25T01:00");
        Assert.True(ok.ExitCode == 0, ok.All);
        Assert.True(File.Exists(project.Root + "media/backup.iso"));
    }

    private static SortedDictionary<string, string> Tree(string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Directory.Exists(root)) PurgeGuardTests.Walk(root, result);
        return result;
    }
}
