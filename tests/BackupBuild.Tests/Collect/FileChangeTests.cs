using System.IO.Compression;
using System.Security.Cryptography;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// Files that change size while being read, or fail to read, keep the archive valid; the content hash
/// covers exactly what was read into the entry.
/// </summary>
[Trait("Tier", "Fast")]
public class FileChangeTests
{
    public static TheoryData<ArchiveFormat> Formats => [ArchiveFormat.Tar, ArchiveFormat.TarGz, ArchiveFormat.TarBz2];

    private const int Announced = 10_000;

    private static byte[] Bytes(int count, int seed)
    {
        var b = new byte[count];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>
    /// Archives "changing" (stat says <see cref="Announced"/> bytes, the stream gives <paramref name="content"/>)
    /// between two ordinary files, and returns what GNU tar extracts for it.
    /// </summary>
    private static (FileAddResult Result, byte[] Extracted) ArchiveChanging(ArchiveFormat format, Func<Stream> content,
        bool expectReadError = false)
    {
        using var temp = new TempDir();
        var before = temp.File("src/before", "before\n");
        var changing = temp.File("src/changing", "placeholder");
        var after = temp.File("src/after", "after\n");
        var archive = temp["a" + Archives.Extension(format)];
        FileAddResult result = default;
        using (var output = File.Create(archive))
        using (var writer = new TarArchiveWriter(output, ChunkCompressors.For(format, CompressionLevel.Optimal), 2, 4096))
        {
            Archives.Add(writer, before);
            var stat = Posix.LStat(changing, out _)!.Value with { Size = Announced };
            if (expectReadError)
                Assert.Throws<IOException>(() => writer.AddFile(SampleTree.EntryName(changing), stat, content()));
            else
                result = writer.AddFile(SampleTree.EntryName(changing), stat, content());
            Archives.Add(writer, after);
            writer.Finish();
        }

        var into = temp["x"];
        Directory.CreateDirectory(into);
        ArchiveReaders.Run("tar", [.. Archives.TarCompressionOption(format), "-x", "-f", archive, "-C", into]);
        ArchiveReaders.Run("bsdtar", "-t", "-f", archive);
        Assert.Equal(3, ArchiveReaders.PythonList(archive, format).Count);
        Assert.Equal("before\n", File.ReadAllText(Path.Combine(into, SampleTree.EntryName(before))));
        Assert.Equal("after\n", File.ReadAllText(Path.Combine(into, SampleTree.EntryName(after))));
        return (result, File.ReadAllBytes(Path.Combine(into, SampleTree.EntryName(changing))));
    }

    [Theory, MemberData(nameof(Formats))]
    public void A_file_that_shrank_is_padded_with_zeros(ArchiveFormat format)
    {
        var content = Bytes(6_000, 1);
        var (result, extracted) = ArchiveChanging(format, () => new MemoryStream(content));
        Assert.Equal(FileAddResult.Shrank, result);
        Assert.Equal([.. content, .. new byte[Announced - content.Length]], extracted);
    }

    [Theory, MemberData(nameof(Formats))]
    public void A_file_that_grew_is_cut_at_its_stat_size(ArchiveFormat format)
    {
        var content = Bytes(15_000, 2);
        var (result, extracted) = ArchiveChanging(format, () => new MemoryStream(content));
        Assert.Equal(FileAddResult.Grew, result);
        Assert.Equal(content[..Announced], extracted);
    }

    [Fact]
    public void A_file_of_exactly_its_stat_size_is_complete()
    {
        var content = Bytes(Announced, 3);
        var (result, extracted) = ArchiveChanging(ArchiveFormat.TarGz, () => new MemoryStream(content));
        Assert.Equal(FileAddResult.Complete, result);
        Assert.Equal(content, extracted);
    }

    [Theory, MemberData(nameof(Formats))]
    public void A_read_error_propagates_and_leaves_a_zero_filled_entry_and_a_usable_writer(ArchiveFormat format)
    {
        var content = Bytes(Announced, 4);
        var (_, extracted) = ArchiveChanging(format, () => new FailingReadStream(new MemoryStream(content), 3_000),
            expectReadError: true);
        Assert.Equal([.. content[..3_000], .. new byte[Announced - 3_000]], extracted);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)] // many chunks of 4096
    public void The_hash_is_the_sha256_of_the_file(int size)
    {
        using var temp = new TempDir();
        var path = temp["src/data"];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Bytes(size, 5));
        using var output = new MemoryStream();
        using var writer = new TarArchiveWriter(output, ChunkCompressors.For(ArchiveFormat.TarGz, CompressionLevel.Optimal), 2, 4096);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var content = File.OpenRead(path))
            Assert.Equal(FileAddResult.Complete, writer.AddFile("data", Posix.LStat(path, out _)!.Value, content, hash));
        writer.Finish();
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(path)), hash.GetHashAndReset());
    }

    [Fact]
    public void The_hash_of_a_file_that_grew_covers_the_stored_bytes()
    {
        var content = Bytes(15_000, 6);
        using var output = new MemoryStream();
        using var writer = new TarArchiveWriter(output, ArchiveFormat.Tar, CompressionLevel.Optimal, 1);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var stat = new PosixStat(0, 0, PosixStat.Regular | 0x1A4, 0, 0, Announced, 0, 0, 0, 0, 0);
        Assert.Equal(FileAddResult.Grew, writer.AddFile("grew", stat, new MemoryStream(content), hash));
        Assert.Equal(SHA256.HashData(content.AsSpan(0, Announced)), hash.GetHashAndReset());
    }
}
