using BackupBuild.Tasks.Store;
using BackupBuild.Tasks.Store.Media;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>The fingerprint in cback.store is the same whether the day was hashed apart or while it was written.</summary>
[Trait("Tier", "Fast")]
public class StagingListingTests
{
    [Fact]
    public void Hashes_taken_while_writing_give_the_fingerprint_of_a_separate_scan()
    {
        using var t = new TempDir();
        var day = t.Dir("staging/2026/11/23");
        OddTree.CreateDay1(day); // links, dot files, empty files, odd modes and names
        var medium = new ImageFileMedium(t["media/backup.iso"], DateTimeOffset.Now);
        var plan = new SessionPlan(true, "CEDAR BACKUP 23-NOV-2026", [("2026/11/23", day)], []);
        Assert.True(medium.Measure(plan) > 0);
        Assert.Null(medium.WrittenEntries("2026/11/23")!.FirstOrDefault(e => e.IsRegularFile)?.Sha256);
        medium.Write(plan, new Progress<long>(), default);

        var written = medium.WrittenEntries("2026/11/23")!;
        var scanned = StagingListing.Scan(day);
        Assert.Equal(scanned.OrderBy(e => e.RelativePath).Select(Show), written.OrderBy(e => e.RelativePath).Select(Show));
        Assert.Equal(StagingListing.Fingerprint(scanned), StagingListing.Fingerprint(written));

        // And what the medium gives back matches file by file.
        var onMedium = medium.HashFiles("2026/11/23", default)!;
        Assert.Empty(DataCheck.Compare("2026/11/23", day, written, onMedium, medium.Name));
    }

    private static string Show(StagedEntry e) =>
        $"{e.RelativePath} {e.Mode:X} {(e.IsRegularFile || (e.Mode & 0xF000) == 0xA000 ? e.Size : 0)} {(e.Sha256 == null ? "-" : Convert.ToHexString(e.Sha256))}";
}
