using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Days uploaded to S3 (a real Ceph RADOS Gateway) by the amazons3 extension restore from S3 alone; Verify reads every archive on
/// every medium back against the checksums Collect recorded, names each bad or missing copy, and in subset mode
/// reads a share per day that adds up to everything.
/// </summary>
[Collection(CephCollection.Name)]
public class S3AndVerifyTests(CephRgw s3)
{
    private BackupProject Pool(TempDir t, string bucket)
    {
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Property("S3Bucket", bucket + "/pool")
            .Property("S3Endpoint", s3.Endpoint)
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "incr"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"));
        foreach (var (k, v) in CephRgw.Credentials) p.Environment[k] = v;
        return p;
    }

    private static void Day(BackupProject p, string date)
    {
        if (Directory.Exists(p.CollectDir)) Directory.Delete(p.CollectDir, true);
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=" + date + "T01:00");
        Assert.True(run.ExitCode == 0, run.All);
    }

    [Fact]
    public void Days_on_s3_restore_from_s3_alone_and_verify_names_bad_and_missing_copies()
    {
        using var t = new TempDir();
        var bucket = s3.Bucket("backups");
        t.File("src/docs/report.txt", "monday\n");
        t.File("src/docs/gone.txt", "deleted on tuesday\n");
        t.File("src/etc/app.conf", "listen 80\n");
        var p = Pool(t, bucket);
        Day(p, "2026-11-23");
        File.WriteAllText(t["src/docs/report.txt"], "tuesday, changed\n");
        File.Delete(t["src/docs/gone.txt"]);
        Day(p, "2026-11-24");

        var verify = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.True(verify.ExitCode == 0, verify.All);
        // 2 days × 2 archives × 3 media (staging, image, S3).
        Assert.Contains("Verify finished: 12 archive copies read, 0 bad, 0 missing", verify.Output);

        // Damage the S3 copy of Monday's docs archive and the staged copy of Monday's etc archive, and remove
        // Tuesday's etc archive from staging.
        var docs = Tasks.Infrastructure.NormalizedPath.From(t["src/docs"]) + ".tar.gz";
        var etc = Tasks.Infrastructure.NormalizedPath.From(t["src/etc"]) + ".tar.bz2";
        var docsKey = "pool/2026/11/23/pool1/" + docs;
        static byte[] Flip(byte[] b) { b[b.Length / 2] ^= 0xFF; return b; }
        s3.Damage(bucket, docsKey, Flip);
        var stagedEtc = Path.Combine(p.StagingDir, "2026/11/23/pool1", etc);
        var etcBytes = File.ReadAllBytes(stagedEtc);
        etcBytes[10] ^= 0x01;
        File.WriteAllBytes(stagedEtc, etcBytes);
        File.Delete(Path.Combine(p.StagingDir, "2026/11/24/pool1", etc));
        var bad = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.NotEqual(0, bad.ExitCode);
        // S3's own MD5 check (the ETag recorded at upload) already refuses the damaged object: BKP8104.
        Assert.Contains($"BKP8104: \"s3://{bucket}/pool/2026/11/23/pool1/{docs}\" could not be read back", bad.Output);
        Assert.Contains($"BKP8103: \"{stagedEtc}\" does not read back as it was written", bad.Output);
        Assert.Contains($"BKP8102: The archive \"{etc}\" that peer pool1 collected on 2026-11-24 is missing on staging {p.StagingDir.TrimEnd('/')}", bad.Output);
        Assert.Contains("2 bad, 1 missing", bad.Output);
        Assert.Contains("ERROR Verify: failed", File.ReadAllText(Path.Combine(p.Directory, "logs/backupbuild.log")));

        // Restore reads the damaged staged copy, notices, takes back what it wrote from it and reads the image's copy.
        var fallback = t["restore-fallback"];
        var fromNext = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + fallback);
        Assert.True(fromNext.ExitCode == 0, fromNext.All);
        Assert.True(fromNext.Output.Contains($"BKP8019: The archive copy \"{stagedEtc}\" could not be read"), fromNext.Output);
        Assert.Equal("listen 80\n", File.ReadAllText(fallback + t["src/etc/app.conf"]));
        Assert.Equal("monday\n", File.ReadAllText(fallback + t["src/docs/report.txt"]));

        // The report shows the findings of the last Verify.
        var report = p.Run("Report", "BackupRunDate=2026-11-24");
        Assert.True(report.ExitCode == 0, report.All);
        Assert.Contains(docs, File.ReadAllText(Path.Combine(p.Root, "report.html")));

        // Staging and image gone: S3 alone restores each day (the damaged Monday copy is replaced first).
        s3.Damage(bucket, docsKey, Flip);
        Directory.Delete(p.StagingDir, true);
        File.Delete(Path.Combine(p.Root, "media/backup.iso"));
        var monday = t["restore-mon"];
        var run = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + monday, "RestorePath=" + t["src"]);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("monday\n", File.ReadAllText(monday + t["src/docs/report.txt"]));
        Assert.Equal("deleted on tuesday\n", File.ReadAllText(monday + t["src/docs/gone.txt"]));
        Assert.Equal("listen 80\n", File.ReadAllText(monday + t["src/etc/app.conf"]));
        Assert.Contains($"s3://{bucket}/pool/2026/11/23/pool1/", run.Output);
        var tuesday = t["restore-tue"];
        run = p.Run("Restore", "RestoreTo=" + tuesday); // the newest day by default
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("tuesday, changed\n", File.ReadAllText(tuesday + t["src/docs/report.txt"]));
        Assert.False(File.Exists(tuesday + t["src/docs/gone.txt"]));
    }

    [Fact]
    public void Subset_mode_reads_a_share_per_day_and_every_archive_over_the_days()
    {
        using var t = new TempDir();
        for (var i = 0; i < 6; i++) t.File($"src/docs/d{i}/f.txt", "x" + i);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "tar"), ("RecursionLevel", "1"));
        Day(p, "2026-11-23");
        var full = p.Run("Verify", "BackupRunDate=2026-11-23");
        Assert.True(full.ExitCode == 0, full.All);
        var total = Read(full.Output);
        Assert.True(total == 12, full.Output); // 6 archives (one per subfolder; the rest is empty), on staging and the image

        var sum = 0;
        for (var day = 23; day < 26; day++)
        {
            var part = p.Run("Verify", "VerifyFraction=0.34", $"BackupRunDate=2026-11-{day}");
            Assert.True(part.ExitCode == 0, part.All);
            Assert.Contains("share read this run: 1/3", part.Output);
            var n = Read(part.Output);
            Assert.True(n < total, part.Output);
            sum += n;
        }
        Assert.Equal(total, sum);
    }

    private static int Read(string output)
    {
        var m = System.Text.RegularExpressions.Regex.Match(output, @"Verify finished: (\d+) archive copies read");
        Assert.True(m.Success, output);
        return int.Parse(m.Groups[1].Value);
    }
}
