using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>The image read back by the real programs people will use on it.</summary>
public class IsoImageReadersTests(IsoImageFixture fixture) : IClassFixture<IsoImageFixture>
{
    [Fact]
    public void Xorriso_extracts_both_days_exactly()
    {
        Tool.Require("xorriso");
        var output = fixture.NewFolder("xorriso");
        var result = Tool.Run("xorriso", "-indev", fixture.Image, "-osirrox", "on", "-extract", "/", output);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.DoesNotMatch(new Regex(@"FAILURE|SORRY|WARNING|MISHAP"), result.All);
        TreeAssert.SameTree(fixture.Day1, Path.Combine(output, "2026/11/21"), "xorriso");
        TreeAssert.SameTree(fixture.Day2, Path.Combine(output, "2026/11/22"), "xorriso");
        // Graft parents exist only on the image: they carry the volume's creation time.
        var parent = Directory.GetLastWriteTimeUtc(Path.Combine(output, "2026/11"));
        Assert.Equal(IsoImageFixture.Created.UtcDateTime, parent);
    }

    [Fact]
    public void Bsdtar_extracts_both_days_exactly()
    {
        Tool.Require("bsdtar");
        var output = fixture.NewFolder("bsdtar");
        var result = Tool.Run("bsdtar", "-xf", fixture.Image, "-C", output);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Equal("", result.Error);
        TreeAssert.SameTree(fixture.Day1, Path.Combine(output, "2026/11/21"), "bsdtar");
        TreeAssert.SameTree(fixture.Day2, Path.Combine(output, "2026/11/22"), "bsdtar");
    }

    [Fact]
    public void Isoinfo_lists_real_names_and_link_targets()
    {
        Tool.Require("isoinfo");
        var result = Tool.Run("isoinfo", "-R", "-l", "-i", fixture.Image);
        Assert.True(result.ExitCode == 0, result.All);
        var listing = result.Output;
        foreach (var name in new[] { "file with space.txt", OddTree.Utf8Name, OddTree.LongName, ".hidden", "emptyfile", "archive.tar.gz", "a.TXT" })
            Assert.Contains("  " + name + " ", listing);
        Assert.Contains("  " + OddTree.NewlineName + " ", listing);
        Assert.Contains("Directory listing of /2026/11/21/a/b/c/d/e/f/g/h/i/j/k/l/", listing);
        Assert.Contains(" rel -> ../x\n", listing);
        Assert.Contains(" abs -> /etc/hostname\n", listing);
        Assert.Contains(" dotrel -> ./a/b\n", listing);
        Assert.Contains(" longlink -> " + OddTree.LongLinkTarget + "\n", listing);
        Assert.Contains(" manyparents -> " + OddTree.ManyParents + "\n", listing);
        Assert.Matches(new Regex(@"-rw-------\s+1\s+\d+\s+\d+\s+7 .*  file with space\.txt "), listing);
        // isoinfo prints owners in octal: 1234:5678 shows as 2322 13056.
        if (BackupBuild.Tasks.Infrastructure.Posix.IsRoot)
            Assert.Matches(new Regex(@"-rw-r--r--\s+1\s+2322\s+13056\s+.*  owned\.txt "), listing);
    }

    [Theory]
    [InlineData("/2026/11/21/file with space.txt", "spaces\n")]
    [InlineData("/2026/11/21/" + OddTree.Utf8Name, "Übersicht ✓\n")]
    [InlineData("/2026/11/21/日本語/ファイル.txt", "nihongo\n")]
    [InlineData("/2026/11/21/a/b/c/d/e/f/g/h/i/j/k/l/deep.txt", "twelve levels down\n")]
    [InlineData("/2026/11/22/nested/again.txt", "nested\n")]
    public void Isoinfo_reads_files_by_real_name(string path, string content)
    {
        Tool.Require("isoinfo");
        var result = Tool.Run("isoinfo", "-R", "-x", path, "-i", fixture.Image);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Equal(content, result.Output);
    }

    [Fact]
    public void Isoinfo_reads_a_file_with_a_220_byte_name()
    {
        Tool.Require("isoinfo");
        var result = Tool.Run("isoinfo", "-R", "-x", "/2026/11/21/" + OddTree.LongName, "-i", fixture.Image);
        Assert.Equal("a name of 220 bytes\n", result.Output);
    }

    [Fact]
    public void Isoinfo_sees_the_volume_and_rock_ridge()
    {
        Tool.Require("isoinfo");
        var result = Tool.Run("isoinfo", "-d", "-i", fixture.Image);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("Volume id: " + IsoImageFixture.VolumeId + "\n", result.Output);
        Assert.Contains("System id: LINUX\n", result.Output);
        Assert.Contains("Application id: BACKUPBUILD\n", result.Output);
        Assert.Contains("Publisher id: BACKUPBUILD TESTS\n", result.Output);
        Assert.Contains("Logical block size is: 2048\n", result.Output);
        Assert.Contains($"Volume size is: {fixture.ExpectedSize / 2048}\n", result.Output);
        Assert.Contains("Rock Ridge signatures version 1 found", result.Output);
    }

    [Fact]
    public void Plain_iso_names_are_valid_and_unique_per_directory()
    {
        Tool.Require("isoinfo");
        var listing = Tool.Run("isoinfo", "-l", "-i", fixture.Image).Output; // without -R: the ECMA-119 identifiers
        var directories = Regex.Split(listing, @"\nDirectory listing of ").Skip(1).ToList();
        Assert.True(directories.Count >= 20, listing);
        foreach (var directory in directories)
        {
            var names = Regex.Matches(directory, @"\]  (\S+) *$", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
                .Where(n => n is not "." and not "..").ToList();
            foreach (var name in names)
                Assert.Matches(new Regex(@"^([A-Z0-9_]{1,31}|[A-Z0-9_]+\.[A-Z0-9_]*;1)$"), name);
            foreach (var name in names.Where(n => n.EndsWith(";1")))
                Assert.True(name.Length - 3 <= 30, name);
            var shown = names.Select(n => n.EndsWith(";1") ? n[..^2].TrimEnd('.') : n).ToList();
            Assert.Equal(shown.Count, shown.Distinct().Count());
        }
    }

    [Fact]
    public void Xorriso_checks_every_block_and_file_extent_without_errors()
    {
        Tool.Require("xorriso");
        var check = Tool.Run("xorriso", "-indev", fixture.Image, "-check_media", "--");
        Assert.True(check.ExitCode == 0, check.All);
        Assert.Matches(new Regex($@"Media region :\s+0 ,\s+{fixture.ExpectedSize / 2048} , \+ good"), check.All);
        Assert.DoesNotMatch(new Regex(@"FAILURE|SORRY|WARNING|MISHAP"), check.All);

        var report = Tool.Run("xorriso", "-indev", fixture.Image, "-find", "/", "-exec", "report_lba", "--");
        Assert.True(report.ExitCode == 0, report.All);
        Assert.Matches(new Regex(@"File data lba:\s+0 ,\s+\d+ ,\s+2055 ,\s+4206649 , '/2026/11/21/random.bin'"), report.All);
    }

    [Fact]
    public void Image_size_is_known_before_writing_and_progress_reaches_it()
    {
        Assert.Equal(fixture.ExpectedSize, new FileInfo(fixture.Image).Length);
        Assert.Equal(0, fixture.ExpectedSize % 2048);
        Assert.Equal(fixture.ExpectedSize, fixture.Progress[^1]);
        Assert.True(fixture.Progress.Count >= 2, "progress should be reported per buffer");
        Assert.Equal(fixture.Progress.OrderBy(p => p), fixture.Progress);
    }

    [Fact]
    public void Counts_files_and_links_but_not_directories()
    {
        long NotDirectories(string root) =>
            TreeAssert.Walk(root).Count(p => !BackupBuild.Tasks.Infrastructure.Posix.LStat(Path.Combine(root, p), out _)!.Value.IsDirectory);
        Assert.Equal(NotDirectories(fixture.Day1) + NotDirectories(fixture.Day2), fixture.Builder.FileCount);
    }

    [Fact]
    public void The_same_input_gives_the_same_bytes()
    {
        using var again = new MemoryStream();
        fixture.New().WriteTo(again);
        Assert.True(File.ReadAllBytes(fixture.Image).AsSpan().SequenceEqual(again.ToArray()), "a second image of the same trees differs");
    }
}
