using System.Text.RegularExpressions;
using BackupBuild.Tasks.Store.Iso;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

[Trait("Tier", "Fast")]
public class IsoImageBuilderTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Files_beyond_the_extent_limit_are_split_into_several_extents()
    {
        Tool.Require("xorriso");
        Tool.Require("bsdtar");
        using var temp = new TempDir();
        var source = temp.Dir("source");
        var bytes = new byte[10_000];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), bytes);
        File.WriteAllBytes(Path.Combine(source, "exactly two.bin"), bytes[..8192]);
        File.WriteAllBytes(Path.Combine(source, "one.bin"), bytes[..4096]);
        File.WriteAllText(Path.Combine(source, "small"), "x");
        var image = temp["split.iso"];

        // The real limit is 4 GiB − 2048; the internal seam shows the same logic on a few kilobytes.
        var builder = new IsoImageBuilder("SPLIT", extentLimit: 4096) { CreationTime = Created };
        builder.AddDirectory("day", source);
        using (var stream = File.Create(image)) builder.WriteTo(stream);
        Assert.Equal(builder.ImageSize, new FileInfo(image).Length);

        var report = Tool.Run("xorriso", "-indev", image, "-find", "/day", "-exec", "report_lba", "--").All;
        Assert.Equal(3, Regex.Matches(report, @"File data lba:\s+\d+ ,\s+\d+ ,\s+\d+ ,\s+10000 , '/day/big.bin'").Count);
        Assert.Equal(2, Regex.Matches(report, @"'/day/exactly two.bin'").Count);
        Assert.Single(Regex.Matches(report, @"'/day/one.bin'"));

        var byXorriso = temp.Dir("xorriso");
        Assert.Equal(0, Tool.Run("xorriso", "-indev", image, "-osirrox", "on", "-extract", "/", byXorriso).ExitCode);
        TreeAssert.SameTree(source, Path.Combine(byXorriso, "day"), "xorriso");
        var byBsdtar = temp.Dir("bsdtar");
        Assert.Equal(0, Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar).ExitCode);
        TreeAssert.SameTree(source, Path.Combine(byBsdtar, "day"), "bsdtar");
    }

    [Fact]
    public void Empty_sources_and_grafting_at_the_root_work()
    {
        Tool.Require("bsdtar");
        using var temp = new TempDir();
        var empty = temp.Dir("empty");
        var builder = new IsoImageBuilder("empty volume") { CreationTime = Created };
        Assert.Equal("EMPTY VOLUME", builder.VolumeId);
        Assert.Equal(0, builder.FileCount);
        builder.AddDirectory("", empty);
        builder.AddDirectory("only/a/folder", empty);
        var image = temp["empty.iso"];
        using (var stream = File.Create(image)) builder.WriteTo(stream);
        Assert.Equal(builder.ImageSize, new FileInfo(image).Length);
        var listing = Tool.Run("bsdtar", "-tf", image);
        Assert.Equal(0, listing.ExitCode);
        Assert.Equal(new[] { "only", "only/a", "only/a/folder" }, listing.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('/')).Where(l => l != ".").Order());
    }

    [Fact]
    public void A_file_that_changed_size_since_scanning_stops_the_write_and_is_named()
    {
        using var temp = new TempDir();
        var source = temp.Dir("source");
        var file = temp.File("source/growing.log", "first line\n");
        var builder = new IsoImageBuilder("CHANGED");
        builder.AddDirectory("day", source);
        File.AppendAllText(file, "second line\n");
        var error = Assert.Throws<IOException>(() => builder.WriteTo(new MemoryStream()));
        Assert.Contains(file, error.Message);

        File.WriteAllText(file, "");
        error = Assert.Throws<IOException>(() => builder.WriteTo(new MemoryStream()));
        Assert.Contains(file, error.Message);
    }

    [Fact]
    public void Special_files_are_refused_with_their_path()
    {
        using var temp = new TempDir();
        var source = temp.Dir("source");
        var fifo = Path.Combine(source, "pipe");
        Assert.Equal(0, Tool.Run("mkfifo", fifo).ExitCode);
        var builder = new IsoImageBuilder("FIFO");
        var error = Assert.Throws<NotSupportedException>(() => builder.AddDirectory("day", source));
        Assert.Contains(fifo, error.Message);
    }

    [Fact]
    public void Link_targets_too_long_for_xorriso_are_refused_with_their_path()
    {
        using var temp = new TempDir();
        var source = temp.Dir("source");
        var link = Path.Combine(source, "far");
        File.CreateSymbolicLink(link, string.Join('/', Enumerable.Repeat(new string('d', 200), 6)));
        var error = Assert.Throws<NotSupportedException>(() => new IsoImageBuilder("LINK").AddDirectory("day", source));
        Assert.Contains(link, error.Message);
    }

    [Fact]
    public void The_same_path_added_twice_is_refused_and_leaves_the_image_unchanged()
    {
        using var temp = new TempDir();
        var first = temp.Dir("first");
        temp.File("first/shared/a.txt", "a");
        var second = temp.Dir("second");
        temp.File("second/shared/b.txt", "b");
        temp.File("second/shared/a.txt", "clash");
        var builder = new IsoImageBuilder("TWICE");
        builder.AddDirectory("day", first);
        var size = builder.ImageSize;
        var count = builder.FileCount;

        var error = Assert.Throws<ArgumentException>(() => builder.AddDirectory("day", second));
        Assert.Contains("/day/shared/a.txt", error.Message);
        Assert.Equal(size, builder.ImageSize);
        Assert.Equal(count, builder.FileCount);

        File.Delete(temp["second/shared/a.txt"]);
        builder.AddDirectory("day", second); // folders merge
        Assert.Equal(count + 1, builder.FileCount);
        Assert.Throws<ArgumentException>(() => builder.AddDirectory("day/shared/a.txt", second));
    }

    [Theory]
    [InlineData("CEDAR BACKUP 21-NOV-2026", "CEDAR BACKUP 21-NOV-2026")]
    [InlineData("cedar_backup", "CEDAR_BACKUP")]
    [InlineData("", "")]
    public void Volume_ids_are_uppercased(string given, string expected) =>
        Assert.Equal(expected, new IsoImageBuilder(given).VolumeId);

    [Theory]
    [InlineData("THIRTY-THREE CHARACTERS LONG 1234")]
    [InlineData("BACKUP/2026")]
    [InlineData("ÜBERSICHT")]
    [InlineData("BACKUP.ISO")]
    public void Invalid_volume_ids_are_refused(string volumeId) =>
        Assert.Throws<ArgumentException>(() => new IsoImageBuilder(volumeId));

    [Fact]
    public void Descriptor_texts_are_checked()
    {
        var builder = new IsoImageBuilder("V") { PublisherId = "me (example.org)" };
        Assert.Equal("ME (EXAMPLE.ORG)", builder.PublisherId);
        builder.ApplicationId = "backupbuild 1.0";
        Assert.Equal("BACKUPBUILD 1.0", builder.ApplicationId);
        Assert.Throws<ArgumentException>(() => builder.SystemId = new string('L', 33));
        Assert.Throws<ArgumentException>(() => builder.PublisherId = "ME@EXAMPLE.ORG");
    }

    [Theory]
    [InlineData("..")]
    [InlineData("2026/./11")]
    public void Invalid_image_paths_are_refused(string isoPath)
    {
        using var temp = new TempDir();
        Assert.Throws<ArgumentException>(() => new IsoImageBuilder("V").AddDirectory(isoPath, temp.Path));
    }

    [Fact]
    public void A_missing_source_is_refused()
    {
        using var temp = new TempDir();
        Assert.Throws<DirectoryNotFoundException>(() => new IsoImageBuilder("V").AddDirectory("x", temp["missing"]));
    }

    [Fact]
    public void Cancellation_stops_the_write()
    {
        using var temp = new TempDir();
        temp.File("source/a.txt", "a");
        var builder = new IsoImageBuilder("CANCEL");
        builder.AddDirectory("day", temp["source"]);
        Assert.ThrowsAny<OperationCanceledException>(() => builder.WriteTo(new MemoryStream(), cancel: new CancellationToken(canceled: true)));
    }
}
