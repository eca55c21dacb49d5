using BackupBuild.Tasks.Infrastructure;
using Xunit;

namespace BackupBuild.Tests.Stage;

[Trait("Tier", "Fast")]
public sealed class StagePeersTests : IDisposable
{
    private readonly StageFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Ready_peer_is_copied_into_the_day_folder_and_both_indicators_are_written()
    {
        var collect = _f.ReadyPeer("master", ("srv-data-daily.tar.gz", "daily"), ("srv-data-incr.tar", "incr"));

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        var day = _f.Day(StageFixture.Wednesday);
        Assert.Equal(day, _f.StagingDay);
        Assert.Equal("daily", File.ReadAllText(Path.Combine(day, "master", "srv-data-daily.tar.gz")));
        Assert.Equal("incr", File.ReadAllText(Path.Combine(day, "master", "srv-data-incr.tar")));
        Assert.True(File.Exists(Path.Combine(day, "master", Indicators.Collect)));
        Assert.True(File.Exists(Path.Combine(collect, Indicators.Stage)));
        Assert.True(File.Exists(Path.Combine(day, Indicators.Stage)));
        Assert.Contains("BKP3040", _f.MessageCodes);
        Assert.Empty(_f.Engine.Errors);
    }

    [Fact]
    public void Unready_peer_is_an_error_for_that_peer_only()
    {
        _f.ReadyPeer("master", ("a.tar", "a"));
        Directory.CreateDirectory(_f.CollectDir("ghost"));

        Assert.False(_f.Run(new[] { _f.Peer("ghost"), _f.Peer("master") }));

        var day = _f.Day(StageFixture.Wednesday);
        Assert.Equal(new[] { "BKP3023" }, _f.Engine.ErrorCodes);
        Assert.True(File.Exists(Path.Combine(day, "master", "a.tar")));
        Assert.True(File.Exists(Path.Combine(_f.CollectDir("master"), Indicators.Stage)));
        // As Cedar: the unready peer still gets its (empty) folder, but no cback.stage in its collect dir.
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(day, "ghost")));
        Assert.False(File.Exists(Path.Combine(_f.CollectDir("ghost"), Indicators.Stage)));
        // As Cedar: the day is marked staged even though a peer failed.
        Assert.True(File.Exists(Path.Combine(day, Indicators.Stage)));
    }

    [Fact]
    public void Day_is_marked_staged_even_when_every_peer_failed()
    {
        Directory.CreateDirectory(_f.CollectDir("ghost"));

        Assert.False(_f.Run(new[] { _f.Peer("ghost") }));

        Assert.Equal(new[] { "BKP3023" }, _f.Engine.ErrorCodes);
        Assert.True(File.Exists(Path.Combine(_f.Day(StageFixture.Wednesday), Indicators.Stage)));
    }

    [Theory]
    // IgnoreFailures, run date, Full, forgiven?
    [InlineData("none", StageFixture.Monday, "false", false)]
    [InlineData("none", StageFixture.Wednesday, "false", false)]
    [InlineData("all", StageFixture.Monday, "false", true)]
    [InlineData("all", StageFixture.Wednesday, "false", true)]
    [InlineData("all", StageFixture.Wednesday, "true", true)]
    [InlineData("daily", StageFixture.Monday, "false", false)]
    [InlineData("daily", StageFixture.Wednesday, "false", true)]
    [InlineData("daily", StageFixture.Wednesday, "true", false)]
    [InlineData("weekly", StageFixture.Monday, "false", true)]
    [InlineData("weekly", StageFixture.Wednesday, "false", false)]
    [InlineData("weekly", StageFixture.Wednesday, "true", true)]
    public void IgnoreFailures_decides_whether_an_unready_peer_fails_the_run(string mode, string runDate, string full, bool forgiven)
    {
        _f.ReadyPeer("master", ("a.tar", "a"));
        Directory.CreateDirectory(_f.CollectDir("ghost"));

        var ok = _f.Run(new[] { _f.Peer("master"), _f.Peer("ghost", mode) }, runDate, full);

        Assert.Equal(forgiven, ok);
        if (forgiven)
        {
            Assert.Empty(_f.Engine.Errors);
            Assert.Contains("BKP3024", _f.MessageCodes);
        }
        else
        {
            Assert.Equal(new[] { "BKP3023" }, _f.Engine.ErrorCodes);
        }
        Assert.True(File.Exists(Path.Combine(_f.Day(runDate), "master", "a.tar")));
    }

    [Fact]
    public void A_missing_collect_dir_is_just_not_ready()
    {
        Assert.False(_f.Run(new[] { _f.Peer("nowhere") }));
        Assert.Equal(new[] { "BKP3023" }, _f.Engine.ErrorCodes);
    }

    [Fact]
    public void Same_day_restage_rewrites_nothing()
    {
        _f.ReadyPeer("master", ("a.tar.gz", "aaaa"), ("b.tar", "bb"));
        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);
        // The first run wrote cback.stage into the collect dir; like Cedar, the second run stages it too.
        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);
        var peerDir = Path.Combine(_f.Day(StageFixture.Wednesday), "master");
        Assert.True(File.Exists(Path.Combine(peerDir, Indicators.Stage)));
        var before = Snapshot(peerDir);
        var dayIndicator = Posix.LStat(Path.Combine(_f.StagingDay, Indicators.Stage), out _)!.Value.Inode;

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        Assert.Equal(before, Snapshot(peerDir));
        Assert.Equal(dayIndicator, Posix.LStat(Path.Combine(_f.StagingDay, Indicators.Stage), out _)!.Value.Inode);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Changed_file_is_copied_again_keeps_the_source_mtime_and_is_owner_only_whatever_the_source_mode()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "first"));
        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);
        var source = Path.Combine(collect, "a.tar");
        File.WriteAllText(source, "second, longer");
        File.SetLastWriteTimeUtc(source, new DateTime(2026, 11, 24, 23, 0, 0, DateTimeKind.Utc).AddTicks(1234567));
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        var staged = Path.Combine(_f.StagingDay, "master", "a.tar");
        Assert.Equal("second, longer", File.ReadAllText(staged));
        Assert.Equal(File.GetLastWriteTimeUtc(source), File.GetLastWriteTimeUtc(staged));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(staged));
    }

    [Fact]
    public void Same_size_but_different_mtime_is_copied_again()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "11111"));
        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);
        var source = Path.Combine(collect, "a.tar");
        File.WriteAllText(source, "22222");
        File.SetLastWriteTimeUtc(source, File.GetLastWriteTimeUtc(source).AddSeconds(5));

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        Assert.Equal("22222", File.ReadAllText(Path.Combine(_f.StagingDay, "master", "a.tar")));
    }

    [Fact]
    public void Indicator_files_of_the_collect_dir_are_staged_too()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "a"));
        File.WriteAllText(Path.Combine(collect, Indicators.Stage), ""); // stale, from a run purge never cleaned

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        var peerDir = Path.Combine(_f.StagingDay, "master");
        Assert.True(File.Exists(Path.Combine(peerDir, Indicators.Collect)));
        Assert.True(File.Exists(Path.Combine(peerDir, Indicators.Stage)));
    }

    [Fact]
    public void Subdirectory_or_symlink_in_a_collect_dir_fails_that_peer_only()
    {
        var collect = _f.ReadyPeer("odd", ("a.tar", "a"));
        Directory.CreateDirectory(Path.Combine(collect, "sub"));
        File.CreateSymbolicLink(Path.Combine(collect, "link.tar"), Path.Combine(collect, "a.tar"));
        _f.ReadyPeer("master", ("m.tar", "m"));

        Assert.False(_f.Run(new[] { _f.Peer("odd"), _f.Peer("master") }));

        Assert.Equal(new[] { "BKP3026", "BKP3026" }, _f.Engine.ErrorCodes);
        Assert.Contains(_f.Engine.Errors, e => (e.Message ?? "").Contains(Path.Combine(collect, "sub")));
        Assert.Contains(_f.Engine.Errors, e => (e.Message ?? "").Contains(Path.Combine(collect, "link.tar")));
        // The regular files are still staged, but the peer is not marked staged.
        Assert.True(File.Exists(Path.Combine(_f.StagingDay, "odd", "a.tar")));
        Assert.False(Path.Exists(Path.Combine(_f.StagingDay, "odd", "sub")));
        Assert.False(Path.Exists(Path.Combine(_f.StagingDay, "odd", "link.tar")));
        Assert.False(File.Exists(Path.Combine(collect, Indicators.Stage)));
        Assert.True(File.Exists(Path.Combine(_f.StagingDay, "master", "m.tar")));
        Assert.True(File.Exists(Path.Combine(_f.CollectDir("master"), Indicators.Stage)));
    }

    [Fact]
    public void Leftovers_of_a_killed_run_are_removed_and_temporary_files_of_collect_are_not_staged()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "a"));
        var collectTemp = Path.Combine(collect, AtomicFile.TempPrefix + "b.tar.1234abcd");
        File.WriteAllText(collectTemp, "half an archive");
        var day = _f.Day(StageFixture.Wednesday);
        var dayLeftover = _f.Temp.File(Path.Combine(day, AtomicFile.TempPrefix + "cback.stage.0000aaaa"));
        var peerLeftover = _f.Temp.File(Path.Combine(day, "master", AtomicFile.TempPrefix + "a.tar.0000bbbb"), "partial");

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        Assert.False(File.Exists(dayLeftover));
        Assert.False(File.Exists(peerLeftover));
        Assert.True(File.Exists(collectTemp)); // Collect's folder, Collect's business
        Assert.Equal(new[] { "a.tar", Indicators.Collect }.Order(),
            Directory.EnumerateFileSystemEntries(Path.Combine(day, "master")).Select(Path.GetFileName).Order());
        Assert.Contains("BKP3043", _f.MessageCodes);
    }

    [Fact]
    public void An_unreachable_remote_peer_is_an_error_for_that_peer_only()
    {
        _f.ReadyPeer("master", ("a.tar", "a"));
        var far = StageFixture.Peer("far", "/srv/collect", type: "remote");
        far.SetMetadata("Host", "host.invalid");

        Assert.False(_f.Run(new[] { _f.Peer("master"), far }));

        Assert.Equal(new[] { "BKP3050" }, _f.Engine.ErrorCodes);
        Assert.True(File.Exists(Path.Combine(_f.StagingDay, "master", "a.tar")));
    }

    [Fact]
    public void Every_configuration_problem_is_reported_at_once_before_anything_is_touched()
    {
        _f.ReadyPeer("master", ("a.tar", "a"));
        var peers = new[]
        {
            _f.Peer("master"),
            StageFixture.Peer("master", _f.CollectDir("master")),               // duplicate
            StageFixture.Peer("nodir", ""),                                      // missing CollectDir
            StageFixture.Peer("relative", "collect/here"),                       // relative CollectDir
            StageFixture.Peer("typo", "/srv/c", type: "locale"),                 // unknown Type
            StageFixture.Peer("untyped", "/srv/c", type: ""),                    // missing Type
            StageFixture.Peer("picky", "/srv/c", ignoreFailures: "sometimes"),   // bad IgnoreFailures
            StageFixture.Peer("..", "/srv/c"),                                   // climbs out of the day folder
        };

        Assert.False(_f.Run(peers, full: "maybe", stagingDir: "staging/relative", lockWait: "soon"));

        Assert.Equal(
            // Full, StagingDir and the lock wait are checked by the parsers Validate uses (tasks/Settings), with their codes.
            new[] { "BKP1006", "BKP1008", "BKP1010", "BKP3002", "BKP3003", "BKP3004", "BKP3005", "BKP3006", "BKP3007", "BKP3008" },
            _f.Engine.ErrorCodes.Order());
        Assert.Contains(_f.Engine.Errors, e => e.Code == "BKP3007" && (e.Message ?? "").Contains("relative"));
        Assert.Contains(_f.Engine.Errors, e => e.Code == "BKP3005" && (e.Message ?? "").Contains("typo"));
        Assert.False(Directory.Exists(_f.StagingDir));
        Assert.False(Directory.Exists(_f.WorkingDir));
        Assert.False(File.Exists(Path.Combine(_f.CollectDir("master"), Indicators.Stage)));
    }

    [Fact]
    public void No_peers_is_a_configuration_error()
    {
        Assert.False(_f.Run(Array.Empty<Microsoft.Build.Framework.ITaskItem>()));
        Assert.Equal(new[] { "BKP3001" }, _f.Engine.ErrorCodes);
        Assert.False(Directory.Exists(_f.StagingDir));
    }

    [Fact]
    public void Bad_run_date_is_reported_with_the_other_problems()
    {
        Assert.False(_f.Run(new[] { StageFixture.Peer("x", "") }, runDate: "yesterday"));
        Assert.Equal(new[] { "BKP1001", "BKP3006" }, _f.Engine.ErrorCodes.Order());
    }

    [Fact]
    public void A_second_stage_run_waits_for_the_lock_then_gives_up()
    {
        _f.ReadyPeer("master", ("a.tar", "a"));
        using (ActionLock.Acquire(_f.WorkingDir, "stage", TimeSpan.Zero, CancellationToken.None))
        {
            Assert.False(_f.Run(new[] { _f.Peer("master") }, lockWait: "0"));
        }
        Assert.Equal(new[] { "BKP1004" }, _f.Engine.ErrorCodes);
        Assert.False(Directory.Exists(_f.StagingDir));
    }

    [Fact]
    public void A_cancelled_run_marks_nothing_staged_and_leaves_no_temporary_files()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "a"));

        Assert.False(_f.Run(new[] { _f.Peer("master") }, cancelled: true));

        Assert.Equal(new[] { "BKP1005" }, _f.Engine.ErrorCodes);
        Assert.False(File.Exists(Path.Combine(collect, Indicators.Stage)));
        var day = _f.Day(StageFixture.Wednesday);
        Assert.False(File.Exists(Path.Combine(day, Indicators.Stage)));
        Assert.DoesNotContain(Directory.EnumerateFiles(day, "*", SearchOption.AllDirectories),
            p => Path.GetFileName(p).StartsWith(AtomicFile.TempPrefix));
    }

    private static Dictionary<string, (ulong Inode, long Size, long Mtime, long Nanos)> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir).ToDictionary(p => Path.GetFileName(p), p =>
        {
            var s = Posix.LStat(p, out _)!.Value;
            return (s.Inode, s.Size, s.MtimeSeconds, s.MtimeNanos);
        });
}
