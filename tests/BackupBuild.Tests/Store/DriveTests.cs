using BackupBuild.Tasks.Store;
using BackupBuild.Tasks.Store.Media;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>
/// The drive code path: xorriso with -dev stdio:FILE, which treats a plain file as an overwritable drive. The
/// commands are the ones a real /dev/sr0 gets; only the device address differs.
/// </summary>
[Trait("Tier", "Fast")]
public class DriveTests
{
    private static MediaRig DriveRig(string media = "dvd+rw")
    {
        Tool.Require("xorriso");
        var rig = new MediaRig();
        rig.Properties["MediaType"] = media;
        rig.Properties["Device"] = "stdio:" + rig.Temp["drive/disc"];
        Directory.CreateDirectory(rig.Temp["drive"]);
        return rig;
    }

    private static string Disc(MediaRig rig) => rig.Temp["drive/disc"];

    [Fact]
    public void A_week_on_a_drive_appends_sessions_rebuild_blanks_and_check_data_catches_a_bad_byte()
    {
        using var rig = DriveRig();
        rig.Properties["DriveSpeed"] = "4";
        rig.Properties["CheckData"] = "true";
        var mon = rig.StageDay("2026-11-23", seed: 1);
        Assert.True(rig.Store("2026-11-23T01:00"), rig.Engine.AllText);
        Assert.Contains("CheckData: 3 files of /2026/11/23", rig.Engine.AllText);
        Assert.Empty(rig.Engine.WarningCodes); // eject and load work on a stdio drive too
        rig.StageDay("2026-11-24", seed: 2);
        Assert.True(rig.Store("2026-11-24T01:00"), rig.Engine.AllText);

        // The append got exactly the commands a real drive gets.
        var plan = new SessionPlan(false, "CEDAR BACKUP 24-NOV-2026", [("2026/11/24", rig.DayDir("2026-11-24"))], []);
        var forSr0 = XorrisoCommands.Write("/dev/sr0", plan, MediaType.Find("dvd+rw")!, 4, blank: true);
        Assert.Equal(new[] { "-dev", "/dev/sr0", "-volid", "CEDAR BACKUP 24-NOV-2026", "-speed", "4d", "-update_r", rig.DayDir("2026-11-24"), "/2026/11/24", "-commit" }, forSr0);
        var logged = "xorriso " + string.Join(' ', forSr0).Replace("/dev/sr0", "stdio:" + Disc(rig)).Replace("CEDAR BACKUP 24-NOV-2026", "'CEDAR BACKUP 24-NOV-2026'");
        Assert.Contains(logged, rig.Engine.AllText);
        Assert.Contains("xorriso -outdev stdio:" + Disc(rig) + " -eject all", rig.Engine.AllText);

        Assert.Equal(2, MediumReaders.Sessions(Disc(rig)).Count);
        MediumReaders.SeeExactly(Disc(rig), rig.Temp.Path, new Dictionary<string, Dictionary<string, byte[]>>
        {
            ["2026/11/23"] = rig.Staged("2026-11-23"), ["2026/11/24"] = rig.Staged("2026-11-24"),
        });

        // Rebuild blanks the disc (it is rewritable) and writes the week in one session.
        rig.StageDay("2026-11-25", seed: 3);
        Assert.True(rig.Rebuild("2026-11-25T01:00"), rig.Engine.AllText);
        Assert.Contains("-blank as_needed", rig.Engine.AllText);
        Assert.Single(MediumReaders.Sessions(Disc(rig)));

        // A byte that goes bad on the disc is caught when the day is read back through the drive.
        rig.StageDay("2026-11-26", seed: 4);
        rig.AfterWrite = _ => TwoWeekSimulationTests.DamageByte(Disc(rig), "2026/11/26/master/srv-data-daily.tar.gz");
        Assert.False(rig.Store("2026-11-26T01:00"));
        Assert.Equal(new[] { "BKP4109" }, rig.Engine.ErrorCodes);
        Assert.False(File.Exists(Path.Combine(rig.DayDir("2026-11-26"), "cback.store")));
        Assert.Empty(Directory.GetFileSystemEntries(rig.WorkingDir).Where(p => p.Contains("check")));
    }

    [Fact]
    public void Initialize_labels_a_blank_disc_which_check_media_then_accepts()
    {
        using var rig = DriveRig();
        rig.Properties["CheckMedia"] = "true";
        rig.StageDay("2026-11-25");
        Assert.False(rig.Store("2026-11-25T01:00"));
        Assert.Equal(new[] { "BKP4107" }, rig.Engine.ErrorCodes);
        Assert.True(rig.Initialize("2026-11-25T01:01"), rig.Engine.AllText);
        Assert.Contains("-mkdir /CedarBackup --", rig.Engine.AllText);
        Assert.True(rig.Store("2026-11-25T01:02"), rig.Engine.AllText);
        var listing = Tool.Run("xorriso", "-indev", Disc(rig), "-find", "/", "-type", "d").Output;
        Assert.Contains("'/CedarBackup'", listing);
        Assert.Contains("'/2026/11/25'", listing);
        Assert.Equal(2, MediumReaders.Sessions(Disc(rig)).Count);
    }

    [Fact]
    public void Write_once_media_are_never_blanked_and_cannot_be_initialized()
    {
        using var rig = DriveRig("dvd+r");
        rig.StageDay("2026-11-23");
        Assert.True(rig.Store("2026-11-23T01:00"), rig.Engine.AllText); // blank: fine
        Assert.DoesNotContain("-blank", rig.Engine.AllText);
        rig.StageDay("2026-11-30");
        var before = File.ReadAllBytes(Disc(rig));
        Assert.False(rig.Store("2026-11-30T01:00")); // the next starting day needs a blank disc
        Assert.Equal(new[] { "BKP4116" }, rig.Engine.ErrorCodes);
        Assert.Equal(before, File.ReadAllBytes(Disc(rig)));
        Assert.False(rig.Initialize("2026-11-30T01:00"));
        Assert.Equal(new[] { "BKP1055" }, rig.Engine.ErrorCodes);
    }

    [Fact]
    public void A_missing_or_hanging_xorriso_is_a_coded_error()
    {
        using var rig = DriveRig();
        rig.StageDay("2026-11-23");
        Assert.False(rig.Store("2026-11-23T01:00", ("Xorriso", rig.Temp["no/such/xorriso"])));
        Assert.Equal(new[] { "BKP4115" }, rig.Engine.ErrorCodes);

        var hanging = rig.Temp.File("bin/xorriso", "#!/bin/sh\nexec sleep 60\n");
        Tool.Run("chmod", "755", hanging);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(rig.Store("2026-11-23T01:00", ("Xorriso", hanging), ("DriveTimeoutSeconds", "1")));
        Assert.Equal(new[] { "BKP4114" }, rig.Engine.ErrorCodes);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
        Assert.False(File.Exists(Path.Combine(rig.DayDir("2026-11-23"), "cback.store")));
    }

    [Fact]
    public void Commands_for_a_cd_writer()
    {
        var day = ("2026/11/23", "/srv/staging/2026/11/23");
        var newDisc = new SessionPlan(true, "CEDAR BACKUP 23-NOV-2026", [day], []);
        Assert.Equal(new[] { "-outdev", "/dev/sr0", "-volid", "CEDAR BACKUP 23-NOV-2026", "-speed", "8c", "-blank", "as_needed",
                "-map", "/srv/staging/2026/11/23", "/2026/11/23", "-commit" },
            XorrisoCommands.Write("/dev/sr0", newDisc, MediaType.Find("cdrw-80")!, 8, blank: true));
        Assert.Equal(new[] { "-outdev", "stdio:/dev/null", "-volid", "CEDAR BACKUP 23-NOV-2026", "-map", "/srv/staging/2026/11/23", "/2026/11/23",
                "-print_size", "-tell_media_space", "-rollback_end" },
            XorrisoCommands.Measure("/dev/sr0", newDisc));
        Assert.Equal(new[] { "-indev", "/dev/sr0", "-osirrox", "on", "-extract", "/2026/11/23", "/tmp/x" },
            XorrisoCommands.Extract("/dev/sr0", "2026/11/23", "/tmp/x"));
    }

    [Fact]
    public void Xorriso_reports_are_read_from_their_lines()
    {
        var report = XorrisoReport.Parse([
            "Drive current: -indev '/dev/sr0'",
            "Media current: CD-RW",
            "Media status : is written , is appendable",
            "Volume id    : 'CEDAR BACKUP 24-NOV-2026'",
            "Media summary: 2 sessions, 106 data blocks,  212k data,  487m free",
            "Media nwa    : 11560s",
            "Image size   : 256s",
            "Media space  : 249472s",
        ]);
        Assert.Equal(new XorrisoReport(false, true, "CEDAR BACKUP 24-NOV-2026", 2, 11560, 256, 249472, "CD-RW"), report);
        Assert.True(XorrisoReport.Parse(["Media status : is blank"]).Blank);
        Assert.False(XorrisoReport.Parse(["Media status : is written , is closed"]).Appendable);
    }
}
