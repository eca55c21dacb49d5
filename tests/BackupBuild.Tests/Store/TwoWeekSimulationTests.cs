using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Iso;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>
/// Two weeks of Store, Rebuild and Initialize on an image file, driven by the run date (starting day Monday;
/// 2026-11-23 is a Monday): daily sessions, a new medium each Monday, Rebuild mid-week, a disc that fills up,
/// a damaged byte that CheckData catches, and media without our label refused.
/// </summary>
[Trait("Tier", "Fast")]
public class TwoWeekSimulationTests
{
    [Fact]
    public void Two_weeks_of_store_follow_cedar_backups_media_rules()
    {
        using var rig = new MediaRig();
        var seen = new Dictionary<string, Dictionary<string, byte[]>>();
        void Stored(string date) => seen[RunClock.DayPath(DateTime.Parse(date[..10]))] = rig.Staged(date);
        void ReadersSeeExactly(params string[] dates) =>
            MediumReaders.SeeExactly(rig.Image, rig.Temp.Path, dates.ToDictionary(d => RunClock.DayPath(DateTime.Parse(d)), d => seen[RunClock.DayPath(DateTime.Parse(d))]));
        void Ok(bool result) => Assert.True(result, rig.Engine.AllText);

        // Monday, the starting day: a new medium.
        rig.StageDay("2026-11-23", seed: 1);
        Ok(rig.Store("2026-11-23T01:00"));
        Stored("2026-11-23");
        Assert.Single(MediumReaders.Sessions(rig.Image));
        Assert.Contains("starting a new medium", rig.Engine.AllText);

        // Tuesday: a session appended; CheckData reads every file back.
        rig.StageDay("2026-11-24", seed: 2);
        Ok(rig.Store("2026-11-24T01:00", ("CheckData", "true")));
        Stored("2026-11-24");
        Assert.Contains("CheckData: 3 files of /2026/11/24", rig.Engine.AllText);
        Assert.Equal(new[] { "CEDAR BACKUP 23-NOV-2026", "CEDAR BACKUP 24-NOV-2026" }, MediumReaders.Sessions(rig.Image).Select(s => s.VolumeId));
        ReadersSeeExactly("2026-11-23", "2026-11-24");

        // Tuesday again, nothing changed: the medium is not touched.
        var before = File.ReadAllBytes(rig.Image);
        Ok(rig.Store("2026-11-24T03:00"));
        Assert.Contains("already stored", rig.Engine.AllText);
        Assert.Equal(before, File.ReadAllBytes(rig.Image));

        // Wednesday's day stored just after midnight, with the warning.
        rig.StageDay("2026-11-25", seed: 3);
        Ok(rig.Store("2026-11-26T00:01", ("WarnMidnight", "true")));
        Stored("2026-11-25");
        Assert.Contains("BKP4001", rig.Engine.WarningCodes);
        Assert.Equal(3, MediumReaders.Sessions(rig.Image).Count);

        // Thursday: Rebuild writes Monday to Thursday on a new medium in one session.
        rig.StageDay("2026-11-26", seed: 4);
        var beforeRebuild = new[] { "2026-11-23", "2026-11-24", "2026-11-25" }.ToDictionary(d => d, d => Snapshot.Contents(rig.DayDir(d)));
        Ok(rig.Rebuild("2026-11-26T02:00", ("CheckData", "true")));
        Stored("2026-11-26");
        // As in Cedar, the whole staging folder goes onto the disc, with the cback.store of days stored before.
        foreach (var (d, files) in beforeRebuild) seen[RunClock.DayPath(DateTime.Parse(d))] = files;
        Assert.Single(MediumReaders.Sessions(rig.Image));
        foreach (var d in new[] { "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26" })
            Assert.True(File.Exists(Path.Combine(rig.DayDir(d), Indicators.Store)), d);
        ReadersSeeExactly("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26");
        Ok(rig.Store("2026-11-26T03:00"));
        Assert.Contains("already stored", rig.Engine.AllText);

        // Friday appends to the rebuilt medium.
        rig.StageDay("2026-11-27", seed: 5);
        Ok(rig.Store("2026-11-27T01:00"));
        Stored("2026-11-27");
        Assert.Equal(2, MediumReaders.Sessions(rig.Image).Count);
        ReadersSeeExactly("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27");

        // Saturday's day does not fit what is left of the 5 MB medium: nothing is written.
        rig.StageDay("2026-11-28", kilobytes: 4200, seed: 6);
        before = File.ReadAllBytes(rig.Image);
        Assert.False(rig.Store("2026-11-28T01:00"));
        Assert.Equal(new[] { "BKP4106" }, rig.Engine.ErrorCodes);
        Assert.Equal(before, File.ReadAllBytes(rig.Image));
        Assert.False(File.Exists(Path.Combine(rig.DayDir("2026-11-28"), Indicators.Store)));
        // Full starts a new medium with today only, where it fits.
        Ok(rig.Store("2026-11-28T01:30", ("Full", "true")));
        Stored("2026-11-28");
        ReadersSeeExactly("2026-11-28");

        // Sunday: a byte goes bad on the medium after writing; CheckData names the file and no cback.store is written.
        rig.StageDay("2026-11-29", seed: 7);
        rig.AfterWrite = _ => DamageByte(rig.Image, "2026/11/29/master/srv-data-daily.tar.gz");
        Assert.False(rig.Store("2026-11-29T01:00", ("CheckData", "true")));
        Assert.Equal(new[] { "BKP4109" }, rig.Engine.ErrorCodes);
        Assert.Contains("/2026/11/29/master/srv-data-daily.tar.gz", rig.Engine.Errors[0].Message);
        Assert.False(File.Exists(Path.Combine(rig.DayDir("2026-11-29"), Indicators.Store)));
        // The next run stores the day again in a new session, which reads back correctly.
        rig.AfterWrite = null;
        Ok(rig.Store("2026-11-29T02:00", ("CheckData", "true")));
        Stored("2026-11-29");
        Assert.Equal(3, MediumReaders.Sessions(rig.Image).Count);
        ReadersSeeExactly("2026-11-28", "2026-11-29");

        // The next Monday begins a new medium.
        rig.StageDay("2026-11-30", seed: 8);
        Ok(rig.Store("2026-11-30T01:00"));
        Stored("2026-11-30");
        Assert.Single(MediumReaders.Sessions(rig.Image));
        ReadersSeeExactly("2026-11-30");

        // Tuesday with CheckMedia: a medium with a foreign label is refused, and so is a blank one (rewritable media
        // must be initialized); after Initialize the day is appended to the labelled medium.
        rig.StageDay("2026-12-01", seed: 9);
        WriteForeignImage(rig.Image, rig.Temp.Dir("foreign"));
        before = File.ReadAllBytes(rig.Image);
        Assert.False(rig.Store("2026-12-01T01:00", ("CheckMedia", "true")));
        Assert.Equal(new[] { "BKP4108" }, rig.Engine.ErrorCodes);
        Assert.Equal(before, File.ReadAllBytes(rig.Image));
        File.Delete(rig.Image);
        Assert.False(rig.Store("2026-12-01T01:00", ("CheckMedia", "true")));
        Assert.Equal(new[] { "BKP4107" }, rig.Engine.ErrorCodes);
        Assert.False(File.Exists(rig.Image));
        Ok(rig.Initialize("2026-12-01T01:05"));
        Ok(rig.Store("2026-12-01T01:10", ("CheckMedia", "true")));
        Stored("2026-12-01");
        Assert.Equal(new[] { "CEDAR BACKUP 01-DEC-2026", "CEDAR BACKUP 01-DEC-2026" }, MediumReaders.Sessions(rig.Image).Select(s => s.VolumeId));
        Assert.Contains("/CedarBackup", Tool.Run("isoinfo", "-R", "-f", "-i", rig.Image).Output);
        ReadersSeeExactly("2026-12-01");
    }

    /// <summary>Flips one byte of a file's data on the image, found through the image's own tree.</summary>
    internal static void DamageByte(string image, string isoPath)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var state = IsoMedium.Inspect(stream);
        var file = IsoFiles.Find(IsoMedium.ReadTree(stream, state.Head!), isoPath)!;
        stream.Position = file.Existing![0].Lba * 2048L + 1000;
        var b = stream.ReadByte();
        stream.Position -= 1;
        stream.WriteByte((byte)(b ^ 0x5A));
    }

    private static void WriteForeignImage(string image, string content)
    {
        File.WriteAllText(Path.Combine(content, "photos.txt"), "not a backup\n");
        var builder = new IsoImageBuilder("HOLIDAY PHOTOS");
        builder.AddDirectory("photos", content);
        using var stream = File.Create(image);
        builder.WriteTo(stream);
    }
}
