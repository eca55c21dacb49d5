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
        Assert.Contains("warning  run.log: BKP8013: ", text); // from the run log
        Assert.Contains("failure  2026-11-24 laptop: staged without cback.collect", text);
        Assert.Contains("backup.iso", text);
        Assert.Matches(@"failure  \d{4}-\d{2}-\d{2} backupbuild\.log: Store: failed", text); // the run log's own (real) date
        // The notification mail carries the same summary.
        var mail = smtp.WaitFor("BackupBuild report 2026-11-26");
        Assert.NotNull(mail);
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
}
