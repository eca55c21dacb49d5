using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// The tar stream cut into many chunks, compressed in parallel as independent gzip members or bzip2
/// streams and written in order, still reads back as one archive. Small chunks make many of them.
/// </summary>
public class ChunkedCompressionTests
{
    private const int SmallChunk = 4099; // deliberately not a multiple of the 512-byte tar block

    /// <summary>Files of mixed compressibility and sizes, several of them larger than a chunk.</summary>
    internal static List<string> MixedFiles(TempDir temp, int count, int maxSize)
    {
        var random = new Random(1234);
        var paths = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var size = i == 0 ? 0 : random.Next(maxSize);
            byte[] content;
            if (i % 2 == 0)
            {
                var text = new StringBuilder();
                while (text.Length < size) text.Append("entry ").Append(random.Next(1000)).Append(" of the log\n");
                content = Encoding.ASCII.GetBytes(text.ToString(0, size));
            }
            else
            {
                content = new byte[size];
                random.NextBytes(content);
            }
            var path = temp[$"src/{i % 3}/file-{i:D3}"];
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            paths.Add(path);
        }
        return paths;
    }

    public static TheoryData<ArchiveFormat, int> FormatsAndThreads => new()
    {
        { ArchiveFormat.Tar, 1 },
        { ArchiveFormat.TarGz, 1 },
        { ArchiveFormat.TarGz, 2 },
        { ArchiveFormat.TarGz, 4 },
        { ArchiveFormat.TarBz2, 1 },
        { ArchiveFormat.TarBz2, 3 },
    };

    [Theory, MemberData(nameof(FormatsAndThreads))]
    public void Hundreds_of_chunks_read_back_with_every_reader(ArchiveFormat format, int threads)
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 60, 40_000);
        var archive = temp["many" + Archives.Extension(format)];
        var (bytesIn, bytesOut) = Archives.Write(archive, files, format, threads, SmallChunk);

        Assert.True(bytesIn > 200 * SmallChunk, $"only {bytesIn} bytes");
        Assert.Equal(new FileInfo(archive).Length, bytesOut);
        AssertReadsBack(archive, format, files, temp);
    }

    [Fact]
    public void Chunks_from_the_managed_bzip2_encoder_read_back_with_every_reader()
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 30, 60_000);
        var archive = temp["managed.tar.bz2"];
        Archives.Write(archive, files, ArchiveFormat.TarBz2, threads: 2, chunkSize: 150_000,
            compressor: new ManagedBzip2Compressor(CompressionLevel.Optimal));
        AssertReadsBack(archive, ArchiveFormat.TarBz2, files, temp);
    }

    /// <summary>
    /// The native compressor keeps libbz2's work memory from stream to stream (on several threads at once): each chunk is
    /// still byte for byte the stream `bzip2 -9` makes of the same bytes.
    /// </summary>
    [Fact]
    public void Native_bzip2_streams_are_byte_for_byte_what_the_bzip2_program_makes()
    {
        using var temp = new TempDir();
        var random = new Random(77);
        var chunks = Enumerable.Range(0, 6).Select(i =>
        {
            var b = new byte[(i % 3) switch { 0 => ChunkSizes.Bzip2, 1 => 1_000_003, _ => 777 }];
            if (i % 2 == 0) random.NextBytes(b);
            else for (var j = 0; j < b.Length; j++) b[j] = (byte)"abcdefgh \n"[random.Next(10)];
            return b;
        }).ToArray();
        var compressor = new NativeBzip2Compressor(CompressionLevel.Optimal);
        var outputs = new byte[chunks.Length][];
        // Twice on two threads at once: the second round reuses the workspaces of the first.
        for (var round = 0; round < 2; round++)
            Parallel.For(0, chunks.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            {
                using var output = new ChunkOutput();
                compressor.Compress(chunks[i], chunks[i].Length, output);
                var bytes = output.Written.ToArray();
                Assert.True(outputs[i] == null || outputs[i].AsSpan().SequenceEqual(bytes), $"chunk {i} differs between rounds");
                outputs[i] = bytes;
            });
        for (var i = 0; i < chunks.Length; i++)
        {
            var path = temp[$"chunk{i}"];
            File.WriteAllBytes(path, chunks[i]);
            var r = Tool.Run("bzip2", "-9", "-k", "-f", path);
            Assert.True(r.ExitCode == 0, r.All);
            Assert.True(File.ReadAllBytes(path + ".bz2").AsSpan().SequenceEqual(outputs[i]), $"chunk {i} is not what bzip2 -9 makes");
        }
    }

    [Fact]
    public void The_system_libbz2_is_used_for_bzip2() =>
        Assert.IsType<NativeBzip2Compressor>(ChunkCompressors.For(ArchiveFormat.TarBz2, CompressionLevel.Optimal));

    [Theory]
    [InlineData(ArchiveFormat.TarGz)]
    [InlineData(ArchiveFormat.TarBz2)]
    public void Default_chunk_size_archives_spanning_several_chunks_read_back(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 24, 1_000_000);
        var archive = temp["default" + Archives.Extension(format)];
        var (bytesIn, _) = Archives.Write(archive, files, format);
        Assert.True(bytesIn > 2 * ChunkSizes.For(format), $"only {bytesIn} bytes");
        AssertReadsBack(archive, format, files, temp);
    }

    private static void AssertReadsBack(string archive, ArchiveFormat format, List<string> files, TempDir temp)
    {
        if (format == ArchiveFormat.TarGz) ArchiveReaders.Run("gzip", "-t", archive);
        if (format == ArchiveFormat.TarBz2) ArchiveReaders.Run("bzip2", "-t", archive);
        ArchiveReaders.AssertGnuTarExtracts(archive, format, files, temp["gnu"]);
        ArchiveReaders.AssertBsdtarExtracts(archive, files, temp["bsd"]);
        ArchiveReaders.AssertPythonReads(archive, format, files);
    }
}
