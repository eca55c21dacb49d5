using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>The encrypt extension in real runs of dotnet msbuild, with gpg and a key the test makes.</summary>
public class EncryptTests
{
    private static BackupProject PoolOfOne(TempDir t, string recipient, GpgHome gpg, bool purge)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("src/etc/app.conf", "listen 8080\n");
        var p = new BackupProject(t.Path)
            .Property("EncryptRecipient", recipient)
            .Property("EncryptGpgHomeDir", gpg.Path)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"));
        if (purge) p.Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
        return p;
    }

    private static List<string> DataFiles(string day) =>
        Directory.GetFiles(day, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(day, f))
            .Where(f => !Path.GetFileName(f).StartsWith("cback.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void All_encrypts_the_staged_day_and_the_image_holds_ciphertext_that_decrypts_to_the_archives()
    {
        Tool.Require("xorriso");
        using var t = new TempDir();
        using var gpg = new GpgHome(t["gnupg"]);
        var p = PoolOfOne(t, GpgHome.Recipient, gpg, purge: false);

        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        var staged = DataFiles(day);
        Assert.Equal(3, staged.Count); // two archives and Collect's manifest
        Assert.All(staged, f => Assert.EndsWith(".gpg", f));
        Assert.True(File.Exists(Path.Combine(day, "cback.encrypt")));
        Assert.True(File.Exists(Path.Combine(day, "cback.store")));
        Assert.DoesNotContain(Directory.GetFiles(day, "*", SearchOption.AllDirectories), f => f.Contains(".bkp-tmp-"));

        // Restore check: what the image holds decrypts to the archives Collect wrote.
        var image = Path.Combine(p.Root, "media/backup.iso");
        var extracted = t.Dir("extracted");
        var x = Tool.Run("xorriso", "-indev", image, "-osirrox", "on", "-extract", "/2026/11/24", extracted);
        Assert.True(x.ExitCode == 0, x.All);
        Assert.Equal(staged, DataFiles(extracted));
        var plain = t.Dir("plain");
        foreach (var file in staged)
        {
            var original = Path.Combine(p.CollectDir, Path.GetFileName(file)[..^".gpg".Length]);
            Assert.Equal(File.ReadAllBytes(original), gpg.Decrypt(Path.Combine(extracted, file), plain));
        }

        // Stage again the same day: the same archives come back as plaintext; they are removed and the ciphertext
        // kept, so the day is what the medium already holds.
        var before = Snapshot.Contents(day);
        // (Nothing changed since the first run: the stamps of Stage, the encryption and Store skip their work.)
        Assert.Equal(0, p.Run("Stage;Store", "BackupRunDate=2026-11-24T02:00").ExitCode);
        var again = p.Run("Stage;Store", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(staged, DataFiles(day));
        foreach (var file in staged) Assert.Equal(before[file], File.ReadAllBytes(Path.Combine(day, file)));
        Assert.True(again.Output.Contains("Skipping target \"CoreStore\""), again.Output);
        Assert.True(again.Output.Contains("Skipping target \"EncryptStagedDays\""), again.Output);

        // A changed archive staged again is encrypted again.
        File.AppendAllText(t["src/docs/report.txt"], "a second line\n");
        var changed = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T05:00");
        Assert.True(changed.ExitCode == 0, changed.All);
        Assert.Equal(staged, DataFiles(day));
        var docs = staged.Single(f => f.Contains(".tar.gz"));
        Assert.NotEqual(before[docs], File.ReadAllBytes(Path.Combine(day, docs)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(p.CollectDir, Path.GetFileName(docs)[..^4])), gpg.Decrypt(Path.Combine(day, docs), plain));
    }

    [Fact]
    public void An_unknown_recipient_is_a_coded_error_before_any_file_is_touched()
    {
        using var t = new TempDir();
        using var gpg = new GpgHome(t["gnupg"]);
        var p = PoolOfOne(t, "nobody@example.invalid", gpg, purge: false);
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP6202", run.Output);
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        var staged = DataFiles(day);
        Assert.Equal(3, staged.Count); // two archives and Collect's manifest
        Assert.DoesNotContain(staged, f => f.EndsWith(".gpg"));
        Assert.False(File.Exists(Path.Combine(day, "cback.encrypt")));
    }
}
