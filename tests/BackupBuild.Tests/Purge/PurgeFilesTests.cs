using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Purge;

[Trait("Tier", "Fast")]
public sealed class PurgeFilesTests : IDisposable
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private readonly PurgeFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void A_file_exactly_RetainDays_old_plus_minutes_is_removed_and_one_a_day_younger_is_kept()
    {
        var old = _f.File("p/old.tar", 7 * Day + TimeSpan.FromMinutes(5));
        var exact = _f.File("p/exact.tar", 7 * Day);
        var young = _f.File("p/young.tar", 6 * Day + TimeSpan.FromHours(23));
        var fresh = _f.File("p/fresh.tar", TimeSpan.FromMinutes(1));

        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"], "7")), _f.Engine.AllText);

        Assert.False(File.Exists(old));
        Assert.False(File.Exists(exact));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(fresh));
        Assert.Contains("BKP5020", _f.MessageCodes);
    }

    [Fact]
    public void A_recent_access_keeps_an_old_file()
    {
        var read = PurgeFixture.Used(_f.Temp.File("p/read-lately.tar", "x"),
            accessUtc: PurgeFixture.NowUtc() - 2 * Day, writeUtc: PurgeFixture.NowUtc() - 30 * Day);
        var unread = PurgeFixture.Used(_f.Temp.File("p/unread.tar", "x"),
            accessUtc: PurgeFixture.NowUtc() - 30 * Day, writeUtc: PurgeFixture.NowUtc() - 30 * Day);

        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"], "7")), _f.Engine.AllText);

        Assert.True(File.Exists(read));
        Assert.False(File.Exists(unread));
    }

    [Fact]
    public void Symbolic_links_are_always_removed_and_never_followed()
    {
        var young = _f.File("p/young.tar", Day);
        var outside = _f.File("elsewhere/keep.me", 100 * Day);
        File.CreateSymbolicLink(_f.Temp["p/to-young"], young);
        Directory.CreateSymbolicLink(_f.Temp["p/to-dir"], _f.Temp["elsewhere"]);
        File.CreateSymbolicLink(_f.Temp["p/dangling"], _f.Temp["nothing-here"]);

        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"], "7")), _f.Engine.AllText);

        Assert.True(File.Exists(young));
        Assert.True(File.Exists(outside));
        Assert.Equal(new[] { "young.tar" }, Names(_f.Temp["p"]));
    }

    [Fact]
    public void A_folder_emptied_by_this_run_goes_at_once_but_its_parent_only_at_the_next_run()
    {
        _f.File("p/2026/11/23/master/srv-data-daily.tar.gz", 15 * Day);
        _f.File("p/2026/11/23/cback.stage", 15 * Day);
        var keptDay = _f.File("p/2026/12/07/master/new.tar.gz", Day);
        _f.Temp.Dir("p/2026/12/07/ghost"); // an empty peer folder: removed whatever its age
        var root = PurgeFixture.Dir(_f.Temp["p"], "7");

        Assert.True(_f.Run(root), _f.Engine.AllText);
        Assert.False(Directory.Exists(_f.Temp["p/2026/11/23/master"]));
        Assert.False(Directory.Exists(_f.Temp["p/2026/12/07/ghost"]));
        Assert.True(Directory.Exists(_f.Temp["p/2026/11/23"]));
        Assert.Empty(Names(_f.Temp["p/2026/11/23"]));

        Assert.True(_f.Run(root), _f.Engine.AllText);
        Assert.False(Directory.Exists(_f.Temp["p/2026/11/23"]));
        Assert.True(Directory.Exists(_f.Temp["p/2026/11"]));

        Assert.True(_f.Run(root), _f.Engine.AllText);
        Assert.False(Directory.Exists(_f.Temp["p/2026/11"]));
        Assert.True(File.Exists(keptDay));
    }

    [Fact]
    public void RetainDays_zero_removes_every_file_but_never_the_configured_folder()
    {
        _f.File("p/a.tar", TimeSpan.Zero);
        _f.File("p/future.tar", -3 * Day);
        _f.File("p/.hidden", 3 * Day);
        _f.File("p/" + AtomicFile.TempPrefix + "b.tar.12345678", TimeSpan.FromHours(1));
        _f.Temp.Dir("p/empty");

        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"], "0")), _f.Engine.AllText);
        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"] + "/", "0")), _f.Engine.AllText);

        Assert.True(Directory.Exists(_f.Temp["p"]));
        Assert.Empty(Names(_f.Temp["p"]));
    }

    [Fact]
    public void Special_files_are_left_in_place_as_Cedar_does()
    {
        var fifo = _f.Temp["p/fifo"];
        Directory.CreateDirectory(_f.Temp["p"]);
        Assert.Equal(0, Tool.Run("mkfifo", fifo).ExitCode);

        Assert.True(_f.Run(PurgeFixture.Dir(_f.Temp["p"], "0")), _f.Engine.AllText);

        Assert.True(Posix.LStat(fifo, out _).HasValue);
        Assert.Contains("BKP5022", _f.MessageCodes);
    }

    [Fact]
    public void A_missing_folder_is_an_error_and_the_other_folders_are_still_purged()
    {
        var old = _f.File("p/old.tar", 30 * Day);
        var file = _f.File("not-a-folder", 30 * Day);

        Assert.False(_f.Run(
            PurgeFixture.Dir(_f.Temp["gone"], "7"),
            PurgeFixture.Dir(file, "7"),
            PurgeFixture.Dir(_f.Temp["p"], "7")));

        Assert.Equal(new[] { "BKP5010", "BKP5010" }, _f.Engine.ErrorCodes);
        Assert.Contains(_f.Engine.Errors, e => (e.Message ?? "").Contains(_f.Temp["gone"]));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(file));
    }

    [Fact]
    public void Every_configuration_problem_is_reported_at_once_and_nothing_is_removed()
    {
        var old = _f.File("p/old.tar", 30 * Day);
        var good = PurgeFixture.Dir(_f.Temp["p"], "7");

        Assert.False(_f.Run(
            good,
            Items.Of(_f.Temp["p"]),                           // RetainDays missing
            PurgeFixture.Dir(_f.Temp["p"], "seven"),          // not a number
            PurgeFixture.Dir(_f.Temp["p"], "-1"),             // negative
            PurgeFixture.Dir(_f.Temp["p"], "1.5"),            // not whole
            PurgeFixture.Dir("relative/dir", "7")));          // relative

        Assert.Equal(new[] { "BKP5001", "BKP5002", "BKP5003", "BKP5003", "BKP5003" }, _f.Engine.ErrorCodes.Order());
        Assert.Contains(_f.Engine.Errors, e => e.Code == "BKP5003" && (e.Message ?? "").Contains("seven"));
        Assert.True(File.Exists(old));
        Assert.False(Directory.Exists(_f.WorkingDir));
    }

    [Fact]
    public void A_bad_run_date_stops_before_anything_is_removed()
    {
        var old = _f.File("p/old.tar", 30 * Day);
        Assert.False(_f.RunAt("08.12.2026", PurgeFixture.Dir(_f.Temp["p"], "7")));
        Assert.Equal(new[] { "BKP1001" }, _f.Engine.ErrorCodes);
        Assert.True(File.Exists(old));
    }

    [Fact]
    public void No_purge_folders_is_fine()
    {
        Assert.True(_f.Run());
        Assert.Empty(_f.Engine.Errors);
    }

    [Fact]
    public void Now_comes_from_the_run_date()
    {
        var file = _f.File("p/a.tar", 3 * Day); // 3 days before the default run date
        var dir = PurgeFixture.Dir(_f.Temp["p"], "7");

        Assert.True(_f.RunAt("2026-12-11T01:00", dir)); // 6 days
        Assert.True(File.Exists(file));
        Assert.True(_f.RunAt("2026-12-12T01:00", dir)); // 7 days
        Assert.False(File.Exists(file));
    }

    private static IEnumerable<string> Names(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).Order();
}
