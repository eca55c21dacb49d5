using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// -t:Report after a few days of a pool of two (one peer missing a day): a self-contained HTML page that headless
/// Chromium renders to a screenshot, and the same summary as plain text for the notification mail.
/// </summary>
public class ReportTests
{
    [Fact]
    public void The_report_page_renders_in_headless_chromium_and_shows_each_peers_state()
    {
        var chromium = Tool.Require("chromium");
        using var t = new TempDir();
        t.File("src/docs/a.txt", new string('a', 50_000));
        var laptopCollect = t.Dir("laptop/collect");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("Peer", "laptop", ("Type", "local"), ("CollectDir", laptopCollect), ("IgnoreFailures", "all"))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "incr"), ("ArchiveMode", "targz"));
        var log = t["logs/run.log"];
        Directory.CreateDirectory(t["logs"]);
        p.Switches.Add("-flp:logfile=" + log + ";append=true");
        foreach (var (date, laptopReady) in new[] { ("2026-11-23", true), ("2026-11-24", false), ("2026-11-25", true) })
        {
            File.AppendAllText(t["src/docs/a.txt"], date);
            if (Directory.Exists(p.CollectDir)) Directory.Delete(p.CollectDir, true);
            foreach (var f in Directory.GetFiles(laptopCollect)) File.Delete(f);
            if (laptopReady)
            {
                File.WriteAllText(Path.Combine(laptopCollect, "home-laptop.tar.gz"), "not really an archive " + date);
                File.WriteAllText(Path.Combine(laptopCollect, "cback.collect"), "");
            }
            var run = p.Run("Collect;Stage;Store", "BackupRunDate=" + date + "T01:00");
            Assert.True(run.ExitCode == 0, run.All);
        }
        // A second restore into the same folder keeps the files it finds there changed: warnings in the run log.
        Assert.Equal(0, p.Run("Restore", "RestoreTo=" + t["restored"]).ExitCode);
        foreach (var f in Directory.GetFiles(t["restored"], "*", SearchOption.AllDirectories)) File.AppendAllText(f, "changed");
        Assert.Equal(0, p.Run("Restore", "RestoreTo=" + t["restored"]).ExitCode);
        // A failed run: the run log (BackupLogFile) records it.
        Assert.Equal(1, p.Run("Store", "Full=true", "BackupRunDate=2026-11-26T01:00").ExitCode);
        var runLog = Path.Combine(p.Directory, "logs/backupbuild.log");
        Assert.Contains("ERROR Store: failed", File.ReadAllText(runLog));
        p.Property("ReportLogFiles", log + ";" + runLog);
        using var smtp = new SmtpListener();
        p.Property("MailTo", "admin@example.org")
            .Property("MailMethod", "smtp").Property("MailSmtpHost", "127.0.0.1").Property("MailSmtpPort", smtp.Port.ToString());
        var report = p.Run("Report", "BackupRunDate=2026-11-26");
        Assert.True(report.ExitCode == 0, report.All);

        var html = Path.Combine(p.Root, "report.html");
        var text = File.ReadAllText(Path.Combine(p.Root, "report.txt"));
        Assert.Contains("master: collected 2026-11-25, staged 2026-11-25, stored 2026-11-25", text);
        Assert.Contains("laptop: collected 2026-11-25", text);
        // A warning both logs have is listed once, from the run log (with its day and action), not from run.log.
        Assert.Single(text.Split('\n'), l => l.Contains("BKP8013"));
        Assert.Matches(@"warning  \d{4}-\d{2}-\d{2} BKP8013: .*\(Restore\)", text);
        Assert.Contains("failure  2026-11-24 laptop: BKP8215: staged without cback.collect", text);
        Assert.Contains("Days with a hole: 2026-11-24 (laptop)", text);
        Assert.Contains("backup.iso", text);
        // The failed Store is named by its coded error, once, on the day it ran for; not as "Store: failed".
        Assert.Matches(@"failure  2026-11-26 BKP4\d{3}: .*\(Store\)", text);
        Assert.DoesNotContain("Store: failed", text);
        // The notification mail carries the same summary.
        var mail = smtp.WaitFor("BackupBuild report 2026-11-26");
        Assert.NotNull(mail);
        // Its subject names what failed (peer or action, and code).
        Assert.Matches(@"BackupBuild report 2026-11-26: \d+ failures \([^)]*BKP\d{4}[^)]*\), \d+ warnings", mail);
        Assert.Contains("master: collected 2026-11-25, staged 2026-11-25, stored 2026-11-25", mail);
        var page = File.ReadAllText(html);
        Assert.Contains("<svg", page);
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", ""));
        Assert.DoesNotContain("https://", page);

        // Chromium loads the page and saves what it shows.
        var png = t["report.png"];
        var shot = Tool.Run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1400",
            "--screenshot=" + png, "file://" + html);
        Assert.True(File.Exists(png), shot.All);
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 10_000, $"{bytes.Length} bytes\n{shot.All}");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        var dom = Tool.Run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + html);
        Assert.Contains("laptop", dom.Output);
        Assert.Contains("<rect", dom.Output);
    }

    [Fact]
    public void A_peer_behind_the_pools_newest_day_is_marked_and_each_day_with_a_hole_is_named()
    {
        using var t = new TempDir();
        t.File("src/docs/a.txt", "first");
        var laptop = t.Dir("laptop/collect");
        var desk = t.Dir("desk/collect");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("Peer", "laptop", ("Type", "local"), ("CollectDir", laptop), ("IgnoreFailures", "all"))
            .Item("Peer", "desk", ("Type", "local"), ("CollectDir", desk), ("IgnoreFailures", "all"))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"));
        // laptop is ready on the 23rd only, desk on the 23rd and 24th: two days and one day behind on the 25th.
        foreach (var (date, ready) in new[] { ("2026-11-23", new[] { laptop, desk }), ("2026-11-24", new[] { desk }), ("2026-11-25", Array.Empty<string>()) })
        {
            File.AppendAllText(t["src/docs/a.txt"], date);
            foreach (var dir in new[] { laptop, desk })
            {
                foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
                if (!ready.Contains(dir)) continue;
                File.WriteAllText(Path.Combine(dir, "home.tar.gz"), "not really an archive " + date);
                File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
            }
            var run = p.Run("Collect;Stage", "BackupRunDate=" + date + "T01:00");
            Assert.True(run.ExitCode == 0, run.All);
        }
        // On the 25th laptop's folder is not there at all (as when Stage never got to it), and the 24th lost
        // master's archive although its manifest names it.
        Directory.Delete(Path.Combine(p.StagingDir, "2026/11/25/laptop"), true);
        var lost = Assert.Single(Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/master"), "*.tar.gz"));
        File.Delete(lost);

        var report = p.Run("Report", "BackupRunDate=2026-11-25T06:00");
        Assert.True(report.ExitCode == 0, report.All);
        var text = File.ReadAllText(Path.Combine(p.Root, "report.txt"));
        Assert.Contains("laptop: collected 2026-11-23, staged 2026-11-23, stored never", text);
        Assert.Matches(@"\nlaptop: .* \[failure: BKP8211\]", text);
        Assert.Matches(@"\ndesk: collected 2026-11-24, staged 2026-11-24, .* \[warning: BKP8210\]", text);
        Assert.Matches(@"\nmaster: collected 2026-11-25, staged 2026-11-25, stored never, [^\[\n]*\n", text);
        Assert.Contains("failure  2026-11-25 laptop: BKP8211: last staged 2026-11-23, 2 days behind the pool's newest staged day 2026-11-25", text);
        Assert.Contains("warning  2026-11-25 desk: BKP8210: last staged 2026-11-24, one day behind the pool's newest staged day 2026-11-25", text);
        Assert.Contains("Days with a hole: 2026-11-24 (laptop, master), 2026-11-25 (desk, laptop)", text);
        Assert.Contains("failure  2026-11-25 laptop: BKP8214: hole: the day was staged (cback.stage) without this peer's folder", text);
        Assert.Contains("failure  2026-11-25 desk: BKP8215: staged without cback.collect", text);
        Assert.Contains("failure  2026-11-24 laptop: BKP8215: staged without cback.collect", text);
        Assert.Contains($"failure  2026-11-24 master: BKP8216: hole: the day's manifest names 1 archive(s) that no medium read holds: {Path.GetFileName(lost)}", text);
        // Each finding once: five failures and the one warning.
        Assert.Matches(@"\n5 failures, \d+ warnings; ", text);
        var page = File.ReadAllText(Path.Combine(p.Root, "report.html"));
        Assert.Contains("2026-11-23 (failure)", page);
        Assert.Contains("Days with a hole: 2026-11-24 (laptop, master), 2026-11-25 (desk, laptop)", page);
    }
}
