using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Garbage in an incremental state file, a staging day or an image is detected: the run falls back to a full
/// collect or refuses with a coded error, and never produces a silently wrong backup.
/// </summary>
public sealed class CorruptedStateTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("empty")]
    [InlineData("flipped")]
    public void A_damaged_incremental_state_gives_BKP2005_and_a_full_archive_of_the_item(string damage)
    {
        var src = _t.Dir("src");
        KillData.Files(src, "old", 3, 1000, 1);
        var p = new BackupProject(_t.Path).Item("CollectDirectory", src, ("CollectMode", "incr"), ("ArchiveMode", "tar"));
        var monday = p.Run("Collect", "BackupRunDate=2026-11-23T01:00");
        Assert.True(monday.ExitCode == 0, monday.All);
        var state = Directory.GetFiles(p.WorkingDir, "*.state").Single();
        var bytes = File.ReadAllBytes(state);
        switch (damage)
        {
            case "garbage": new Random(5).NextBytes(bytes); break;
            case "truncated": bytes = bytes[..(bytes.Length / 2)]; break;
            case "empty": bytes = Array.Empty<byte>(); break;
            default: bytes[bytes.Length / 2] ^= 0x40; break;
        }
        File.WriteAllBytes(state, bytes);
        KillData.Files(src, "new", 1, 1000, 2);

        var tuesday = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(tuesday.ExitCode == 0, tuesday.All);
        Assert.Contains("warning BKP2005", tuesday.Output);
        var archive = Directory.GetFiles(p.CollectDir, "*.tar").Single();
        // Not only the new file: everything, since the state could not say what was unchanged.
        Assert.Equal(4, TarListing.Names(archive).Count(n => n.EndsWith(".bin")));

        // The state written by that run is whole again: a run without changes archives nothing and warns nothing.
        var wednesday = p.Run("Collect", "BackupRunDate=2026-11-25T01:00");
        Assert.True(wednesday.ExitCode == 0, wednesday.All);
        Assert.DoesNotContain("BKP2005", wednesday.Output);
    }

    [Fact]
    public void A_staging_day_with_a_half_copied_file_of_a_killed_Stage_is_refused_with_BKP1500_until_Stage_runs_again()
    {
        Tool.Require("bsdtar");
        var peer = _t.Dir("peer");
        KillData.Files(peer, "data", 1, 1000, 1);
        File.WriteAllText(Path.Combine(peer, "cback.collect"), "");
        var p = new BackupProject(_t.Path).Property("StoreMediaType", "image")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", peer));
        var stage = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(stage.ExitCode == 0, stage.All);
        // What a Stage run killed while staging the day again leaves: the day's cback.stage from the
        // first run and a temporary file next to the file it was replacing.
        var leftover = Path.Combine(p.StagingDir, "2026/11/24/master/.bkp-tmp-data000.bin.1a2b3c4d");
        File.WriteAllBytes(leftover, new byte[300]);
        var image = p.Root + "media/backup.iso";

        var refused = p.Run("Store", "BackupRunDate=2026-11-24T02:00");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error BKP1500", refused.Output);
        Assert.Contains(leftover, refused.Output);
        Assert.False(File.Exists(image));
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));

        var again = p.Run("Stage", "BackupRunDate=2026-11-24T01:30");
        Assert.True(again.ExitCode == 0, again.All);
        var store = p.Run("Store", "BackupRunDate=2026-11-24T02:00");
        Assert.True(store.ExitCode == 0, store.All);
        var listing = Tool.Run("bsdtar", "-tf", image).Output;
        Assert.Contains("2026/11/24/master/data000.bin", listing);
        Assert.DoesNotContain(".bkp-tmp", listing);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void A_damaged_image_is_refused_with_BKP4117_left_as_it_was_and_replaced_only_by_a_new_disc(string damage)
    {
        Tool.Require("bsdtar");
        var p = new BackupProject(_t.Path).Property("StoreMediaType", "image");
        var image = p.Root + "media/backup.iso";
        foreach (var day in new[] { "23", "24" })
        {
            KillData.Files(Path.Combine(p.StagingDir, $"2026/11/{day}/master"), "d" + day, 1, 2000, int.Parse(day));
            File.WriteAllText(Path.Combine(p.StagingDir, $"2026/11/{day}/cback.stage"), "");
        }
        var monday = p.Run("Store", "BackupRunDate=2026-11-23T02:00");
        Assert.True(monday.ExitCode == 0, monday.All);
        var bytes = File.ReadAllBytes(image);
        if (damage == "garbage") new Random(9).NextBytes(bytes);
        else bytes = bytes[..(bytes.Length / 2)];
        File.WriteAllBytes(image, bytes);

        var tuesday = p.Run("Store", "BackupRunDate=2026-11-24T02:00");
        Assert.Equal(1, tuesday.ExitCode);
        Assert.Contains("error BKP4117", tuesday.Output);
        Assert.Contains(image, tuesday.Output);
        Assert.Equal(bytes, File.ReadAllBytes(image));
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));

        var full = p.Run("Store", "BackupRunDate=2026-11-24T02:00", "Full=true");
        Assert.True(full.ExitCode == 0, full.All);
        Assert.Contains("2026/11/24/master/d24000.bin", Tool.Run("bsdtar", "-tf", image).Output);
    }
}
