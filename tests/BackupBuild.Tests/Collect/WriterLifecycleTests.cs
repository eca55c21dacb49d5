using System.Diagnostics;
using System.IO.Compression;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>Finishing, byte counts, cancellation, output failures and disposal.</summary>
[Trait("Tier", "Fast")]
public class WriterLifecycleTests
{
    private static PosixStat FileStat(long size) => new(0, 0, PosixStat.Regular | 0x1A4, 0, 0, size, 1_700_000_000, 0, 0, 0, 0);

    private static MemoryStream Random(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return new MemoryStream(b);
    }

    [Theory]
    [InlineData(ArchiveFormat.Tar)]
    [InlineData(ArchiveFormat.TarGz)]
    [InlineData(ArchiveFormat.TarBz2)]
    public void Finish_pads_to_whole_records_counts_bytes_and_leaves_the_output_open(ArchiveFormat format)
    {
        using var output = new MemoryStream();
        long bytesIn;
        using (var writer = new TarArchiveWriter(output, format, CompressionLevel.Optimal, 2))
        {
            writer.AddFile("a", FileStat(1000), Random(1000, 1));
            writer.Finish();
            bytesIn = writer.BytesIn;
            // header + 1000 bytes in two blocks + two end blocks, padded to one 10240-byte record
            Assert.Equal(10240, bytesIn);
            Assert.Equal(output.Length, writer.BytesOut);
            if (format == ArchiveFormat.Tar) Assert.Equal(bytesIn, writer.BytesOut);
            Assert.Throws<InvalidOperationException>(() => writer.AddFile("b", FileStat(0), new MemoryStream()));
        }
        Assert.True(output.CanWrite);
    }

    [Theory]
    [InlineData(ArchiveFormat.Tar)]
    [InlineData(ArchiveFormat.TarGz)]
    [InlineData(ArchiveFormat.TarBz2)]
    public void An_archive_without_entries_is_one_record_of_zeros_that_readers_accept(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var archive = temp["empty" + Archives.Extension(format)];
        using (var output = File.Create(archive))
        using (var writer = new TarArchiveWriter(output, format, CompressionLevel.Optimal, 1))
        {
            writer.Finish();
            Assert.Equal(10240, writer.BytesIn);
        }
        Assert.Equal("", ArchiveReaders.Run("tar", [.. Archives.TarCompressionOption(format), "-tf", archive]).Output);
        Assert.Empty(ArchiveReaders.PythonList(archive, format));
    }

    [Fact]
    public void Cancellation_stops_the_file_and_the_writer_refuses_further_entries()
    {
        using var output = new MemoryStream();
        using var writer = new TarArchiveWriter(output, ArchiveFormat.TarGz, CompressionLevel.Optimal, 2);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => writer.AddFile("a", FileStat(100_000), Random(100_000, 2), cancel: cancel.Token));
        Assert.Throws<InvalidOperationException>(() => writer.AddFile("b", FileStat(10), Random(10, 3)));
        Assert.Throws<InvalidOperationException>(writer.Finish);
    }

    [Theory]
    [InlineData(ArchiveFormat.Tar, 1)]
    [InlineData(ArchiveFormat.TarGz, 2)]
    [InlineData(ArchiveFormat.TarBz2, 2)]
    public void An_output_error_reaches_the_caller_unchanged(ArchiveFormat format, int threads)
    {
        var output = new FullDiskStream(capacity: 50_000);
        using var writer = new TarArchiveWriter(output, ChunkCompressors.For(format, CompressionLevel.Optimal), threads, 8192);
        var error = Assert.Throws<IOException>(() =>
        {
            for (var i = 0; i < 100; i++) writer.AddFile("f" + i, FileStat(20_000), Random(20_000, i));
            writer.Finish();
        });
        Assert.Contains("no space left", error.Message);
        Assert.Throws<InvalidOperationException>(() => writer.AddFile("late", FileStat(1), Random(1, 0)));
    }

    [Fact]
    public void Dispose_without_finish_stops_busy_workers_promptly()
    {
        var clock = Stopwatch.StartNew();
        var writer = new TarArchiveWriter(Stream.Null, ArchiveFormat.TarBz2, CompressionLevel.Optimal, 2);
        for (var i = 0; i < 4; i++) writer.AddFile("f" + i, FileStat(3_000_000), Random(3_000_000, i));
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.AddFile("late", FileStat(1), Random(1, 0)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void At_least_one_compression_thread_is_required() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TarArchiveWriter(Stream.Null, ArchiveFormat.TarGz, CompressionLevel.Optimal, 0));
}
