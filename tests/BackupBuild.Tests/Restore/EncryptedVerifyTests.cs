using BackupBuild.Tests.Extensions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Verify on days the encrypt extension turned into FILE.gpg, with real gpg: read back through gpg when the restore
/// settings name the key's home, and never a silent "0 bad, 0 missing" when it cannot read them (BKP8112, the report).
/// </summary>
public class EncryptedVerifyTests
{
    [Fact]
    public void Days_encrypted_after_plain_ones_are_no_holes_where_the_key_is_not()
    {
        using var t = new TempDir();
        using var gpg = new GpgHome(t["gnupg"]);
        t.File("src/docs/report.txt", "quarterly report\n");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("EncryptGpgHomeDir", gpg.Path)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
        // Monday in plain, Tuesday encrypted (the extension switched on in between).
        var run = p.Run("All", "BackupRunDate=2026-11-23T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Empty(Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/23/master"), "*.gpg"));
        run = p.Run("All", "BackupRunDate=2026-11-24T01:00", "EncryptRecipient=" + GpgHome.Recipient);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/master"), "*.gpg"));

        var verify = p.Run("Verify", "BackupRunDate=2026-11-24T03:00", "RestoreGpgHomeDir=");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.DoesNotContain("BKP8050", verify.Output);
        // Tuesday's run encrypted Monday's staged folder too (its manifest stays readable on the image): Monday's staged
        // archive is encrypted and not read, not missing.
        Assert.True(verify.Output.Contains("warning BKP8112: 3 encrypted archive copies of master 2026-11-23, master 2026-11-24 were not read back"), verify.Output);
        Assert.Contains("Verify finished: 1 archive copies read, 0 bad, 0 missing, 0 gaps in chains, 0 without recorded checksums, 3 encrypted and not read", verify.Output);
        var report = p.Run("Report", "BackupRunDate=2026-11-24T04:00");
        Assert.True(report.ExitCode == 0, report.All);
        Assert.DoesNotContain("BKP821", report.Output);
        Assert.DoesNotContain("BKP805", report.Output);

        // With the key: both days read.
        verify = p.Run("Verify", "BackupRunDate=2026-11-24T05:00");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("Verify finished: 4 archive copies read, 0 bad, 0 missing, 0 gaps in chains, 0 without recorded checksums, 0 encrypted and not read", verify.Output);
    }

    [Fact]
    public void Encrypted_days_are_read_through_gpg_with_the_key_and_said_unread_without_it()
    {
        using var t = new TempDir();
        using var gpg = new GpgHome(t["gnupg"]);
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("src/etc/app.conf", "listen 8080\n");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("EncryptRecipient", GpgHome.Recipient)
            .Property("EncryptGpgHomeDir", gpg.Path)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        var day = Path.Combine(p.StagingDir, "2026/11/24/master");
        Assert.Contains(Path.Combine(day, "backupbuild-manifest.json.gz.gpg"), Directory.GetFiles(day));

        // No key home configured (RestoreGpgHomeDir empty, EncryptGpgHomeDir not used): nothing read, and said so.
        var verify = p.Run("Verify", "BackupRunDate=2026-11-24T03:00", "RestoreGpgHomeDir=");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.True(verify.Output.Contains("warning BKP8112: 4 encrypted archive copies of master 2026-11-24 were not read back"), verify.Output);
        Assert.Contains("no key for them is configured here", verify.Output);
        Assert.Contains("Verify finished: 0 archive copies read, 0 bad, 0 missing, 0 gaps in chains, 0 without recorded checksums, 4 encrypted and not read", verify.Output);

        // A key home without the secret key (a master that encrypts to a key kept elsewhere): one warning with gpg's
        // reason, not one per manifest copy and day, and nothing counted as read.
        var empty = t.Dir("empty-gnupg");
        File.SetUnixFileMode(empty, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        verify = p.Run("Verify", "BackupRunDate=2026-11-24T03:30", "RestoreGpgHomeDir=" + empty);
        Tool.Run("gpgconf", "--homedir", empty, "--kill", "all");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.True(verify.Output.Split('\n').Where(l => l.Contains("warning BKP")).Select(l => l[l.IndexOf("warning BKP", StringComparison.Ordinal)..]).Distinct().Count() == 1, verify.Output); // the summary repeats it
        Assert.Contains("warning BKP8112: 4 encrypted archive copies", verify.Output);
        Assert.Contains("gpg could not decrypt their manifests with the key home configured here", verify.Output);
        Assert.Contains(", 4 encrypted and not read", verify.Output);
        var report = p.Run("Report", "BackupRunDate=2026-11-24T04:00");
        Assert.True(report.ExitCode == 0, report.All);
        Assert.Contains("Last Verify on 2026-11-24: 0 archive copies read back, 0 problems; 4 encrypted archive copies not read", report.Output);

        // With the key's home: every copy (staging and the image) decrypted and checked against the manifest.
        verify = p.Run("Verify", "BackupRunDate=2026-11-24T05:00", "RestoreGpgHomeDir=" + gpg.Path);
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.DoesNotContain("BKP8112", verify.Output);
        Assert.Contains("Verify finished: 4 archive copies read, 0 bad, 0 missing, 0 gaps in chains, 0 without recorded checksums, 0 encrypted and not read", verify.Output);

        // A damaged ciphertext in staging is found (gpg's integrity check fails) and named; the image's copy is good.
        var archive = Directory.GetFiles(day, "*.tar.bz2.gpg").Single();
        var bytes = File.ReadAllBytes(archive);
        bytes[bytes.Length / 2] ^= 0x55;
        File.WriteAllBytes(archive, bytes);
        verify = p.Run("Verify", "BackupRunDate=2026-11-24T06:00", "RestoreGpgHomeDir=" + gpg.Path);
        Assert.NotEqual(0, verify.ExitCode);
        Assert.Matches(@"error BKP810[34]: ""[^""]*" + System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(archive)), verify.Output);
        Assert.Contains("Verify finished: 4 archive copies read, 1 bad, 0 missing", verify.Output);
    }
}
