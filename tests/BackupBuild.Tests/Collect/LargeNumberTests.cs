using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// Ids, times and sizes beyond what octal header fields hold are stored in GNU's base-256 form, and
/// every reader gets the value back.
/// </summary>
[Trait("Tier", "Fast")]
public class LargeNumberTests
{
    private static PosixStat FileStat(uint uid, uint gid, long mtime, long size) =>
        new(0, 0, PosixStat.Regular | 0x1A4, uid, gid, size, mtime, 0, mtime, 0, mtime);

    // name, uid, gid, mtime: the largest octal values, the first base-256 ones, negative and far-future times.
    private static readonly (string Name, uint Uid, uint Gid, long Mtime)[] Entries =
    [
        ("octal-limits", 2_097_151, 2_097_151, 8_589_934_591),
        ("first-base-256", 2_097_152, 2_097_152, 8_589_934_592),
        ("large-ids", 3_000_000_000, 4_000_000_000, 1_700_000_000),
        ("before-1970", 1000, 1000, -1_000_000_000),
        ("far-future", 1000, 1000, 1L << 40),
    ];

    [Theory]
    [InlineData(ArchiveFormat.Tar)]
    [InlineData(ArchiveFormat.TarGz)]
    [InlineData(ArchiveFormat.TarBz2)]
    public void Ids_and_times_beyond_octal_read_back_in_every_reader(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var archive = temp["numbers" + Archives.Extension(format)];
        using (var output = File.Create(archive))
        using (var writer = new TarArchiveWriter(output, format, CompressionLevel.Optimal, threads: 2))
        {
            foreach (var e in Entries)
                writer.AddFile(e.Name, FileStat(e.Uid, e.Gid, e.Mtime, 3), new MemoryStream("abc"u8.ToArray()));
            writer.Finish();
        }

        var python = ArchiveReaders.PythonList(archive, format);
        Assert.Equal(Entries.Select(e => (e.Name, (long)e.Uid, (long)e.Gid, e.Mtime, 3L)),
            python.Select(m => (m.Name, m.Uid, m.Gid, m.MTime, m.Size)));

        var gnu = Lines(ArchiveReaders.Run("tar", [.. Archives.TarCompressionOption(format), "-tv", "--numeric-owner", "--full-time", "-f", archive]));
        var bsd = Lines(ArchiveReaders.Run("bsdtar", "-tv", "--numeric-owner", "-f", archive));
        foreach (var (e, i) in Entries.Select((e, i) => (e, i)))
        {
            Assert.Equal($"{e.Uid}/{e.Gid}", gnu[i][1]);
            // GNU tar prints times it cannot show as dates as seconds since the epoch.
            var date = DateTimeOffset.FromUnixTimeSeconds(Math.Min(e.Mtime, 253402300799)).UtcDateTime;
            if (e.Mtime <= 253402300799) Assert.Equal(date.ToString("yyyy-MM-dd HH:mm:ss"), gnu[i][3] + " " + gnu[i][4]);
            Assert.Equal([e.Uid.ToString(), e.Gid.ToString(), "3"], bsd[i][2..5]);
        }
    }

    [Fact]
    public void A_file_of_8_GiB_gets_a_base_256_size_that_every_reader_accepts()
    {
        using var temp = new TempDir();
        var archive = temp["huge.tar"];
        const long size = 8L << 30; // one more than the largest octal size
        var stat = FileStat(1000, 1000, 1_700_000_000, size);
        using (var output = new SparseFileStream(archive))
        using (var writer = new TarArchiveWriter(output, ChunkCompressors.For(ArchiveFormat.Tar, CompressionLevel.Optimal), 1, 16 << 20))
        {
            Assert.Equal(FileAddResult.Complete, writer.AddFile("huge", stat, new ZeroStream(size)));
            writer.AddFile("after", FileStat(1000, 1000, 1_700_000_000, 6), new MemoryStream("after\n"u8.ToArray()));
            writer.Finish();
        }

        Assert.Equal([("huge", size), ("after", 6L)],
            ArchiveReaders.PythonList(archive, ArchiveFormat.Tar, readContent: false).Select(m => (m.Name, m.Size)));
        var gnu = Lines(ArchiveReaders.Run("tar", "-tvf", archive));
        Assert.Equal([size.ToString(), "6"], gnu.Select(f => f[2]));
        var bsd = Lines(ArchiveReaders.Run("bsdtar", "-tvf", archive));
        Assert.Equal([size.ToString(), "6"], bsd.Select(f => f[4]));
        // The entry after the huge one is found at the right offset: its content extracts intact.
        Assert.Equal("after\n", ArchiveReaders.Run("tar", "-xOf", archive, "after").Output);
    }

    private static string[][] Lines(Tool.Result r) =>
        [.. r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
}
