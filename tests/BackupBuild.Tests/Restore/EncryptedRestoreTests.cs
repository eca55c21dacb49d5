using BackupBuild.Tests.Extensions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Days the encrypt extension turned into FILE.gpg are restored and found through real gpg: with the key in the
/// keyring (its agent), and with a key protected by a passphrase that gpg reads from RestorePassphraseFile.
/// </summary>
public class EncryptedRestoreTests
{
    private static BackupProject Pool(TempDir t, string gpgHome)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("src/etc/app.conf", "listen 8080\n");
        return new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("EncryptRecipient", GpgHome.Recipient)
            .Property("EncryptGpgHomeDir", gpgHome)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
    }

    [Fact]
    public void An_encrypted_day_restores_from_staging_and_the_image_with_the_keyring()
    {
        using var t = new TempDir();
        using var gpg = new GpgHome(t["gnupg"]);
        var p = Pool(t, gpg.Path);
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.All(Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/master")).Where(f => !Path.GetFileName(f).StartsWith("cback.")),
            f => Assert.EndsWith(".gpg", f));

        var to = t.Dir("restore");
        run = p.Run("Restore", "RestoreTo=" + to, "RestoreGpgHomeDir=" + gpg.Path);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning", run.Output);
        Assert.Equal("quarterly report\n", File.ReadAllText(to + t["src/docs/report.txt"]));
        Assert.Equal("listen 8080\n", File.ReadAllText(to + t["src/etc/app.conf"]));

        var find = p.Run("Find", "FindPattern=app.conf", "RestoreGpgHomeDir=" + gpg.Path);
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains("/src/etc/app.conf  in ", find.Output);
        Assert.Contains(".tar.bz2.gpg", find.Output);

        // From the image alone.
        Directory.Delete(p.StagingDir, true);
        var fromImage = t.Dir("restore-image");
        run = p.Run("Restore", "RestoreTo=" + fromImage, "RestoreGpgHomeDir=" + gpg.Path, "RestorePath=" + t["src/docs"]);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("quarterly report\n", File.ReadAllText(fromImage + t["src/docs/report.txt"]));

        // Without the secret key (an empty keyring): no file is written and the run fails naming gpg's reason.
        var empty = t.Dir("empty-gnupg");
        File.SetUnixFileMode(empty, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var none = t.Dir("restore-nokey");
        run = p.Run("Restore", "RestoreTo=" + none, "RestoreGpgHomeDir=" + empty);
        Tool.Run("gpgconf", "--homedir", empty, "--kill", "all");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("gpg could not decrypt", run.Output);
        Assert.Empty(Directory.GetFiles(none, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_key_with_a_passphrase_decrypts_with_RestorePassphraseFile_and_the_passphrase_is_on_no_command_line()
    {
        using var t = new TempDir();
        var home = t.Dir("gnupg");
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        const string secret = "correct horse battery staple";
        var made = Tool.RunWith(null, null, TimeSpan.FromMinutes(2), "gpg", "--batch", "--no-tty", "--homedir", home,
            "--passphrase", secret, "--pinentry-mode", "loopback", "--quick-gen-key", $"Backup Test <{GpgHome.Recipient}>", "future-default", "default", "never");
        Assert.True(made.ExitCode == 0, made.All);
        try
        {
            var p = Pool(t, home);
            var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
            Assert.True(run.ExitCode == 0, run.All);

            // No passphrase: gpg in batch mode cannot ask for it; nothing is written.
            var none = t.Dir("restore-none");
            run = p.Run("Restore", "RestoreTo=" + none, "RestoreGpgHomeDir=" + home);
            Assert.NotEqual(0, run.ExitCode);
            Assert.Empty(Directory.GetFiles(none, "*", SearchOption.AllDirectories));

            // A missing passphrase file is refused before anything is read.
            run = p.Run("Restore", "RestoreTo=" + none, "RestoreGpgHomeDir=" + home, "RestorePassphraseFile=" + t["nope"]);
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("BKP8603", run.Output);

            var file = t.File("passphrase", secret + "\n");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var to = t.Dir("restore");
            // A credential in the environment (as the S3 extension's AWS_SECRET_ACCESS_KEY may be) must not reach the binary log either.
            const string awsSecret = "planted-aws-secret-4f1c9e";
            p.Environment["AWS_SECRET_ACCESS_KEY"] = awsSecret;
            run = p.Run("Restore", "RestoreTo=" + to, "RestoreGpgHomeDir=" + home, "RestorePassphraseFile=" + file);
            Assert.True(run.ExitCode == 0, run.All);
            Assert.Equal("listen 8080\n", File.ReadAllText(to + t["src/etc/app.conf"]));
            Assert.DoesNotContain(secret, run.All);

            // The binary logs kept of these runs (the run logger's, by default) hold neither secret: the passphrase comes
            // from its file inside the task, never through a property or a task input.
            var binlogs = Directory.GetFiles(p.BinaryLogDir, "*.binlog");
            Assert.Contains(binlogs, b => b.EndsWith("-Restore.binlog", StringComparison.Ordinal));
            foreach (var binlog in binlogs)
            {
                var text = BackupBuild.Tests.Deploy.RunLoggerTests.BinaryLogText(binlog, t["replay.log"]);
                Assert.Contains("RestorePassphraseFile", text); // what it does hold: the file's name
                Assert.DoesNotContain(secret, text);
                Assert.DoesNotContain(awsSecret, text);
            }
        }
        finally
        {
            Tool.Run("gpgconf", "--homedir", home, "--kill", "all");
        }
    }
}
