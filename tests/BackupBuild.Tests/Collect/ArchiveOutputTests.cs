using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// How an archive reaches its file and where its pieces live in memory: written past the page cache (O_DIRECT) in
/// whole blocks with a buffered tail, or through the page cache where O_DIRECT is refused, the file always holding
/// exactly the bytes written; compressed chunks gathered in a buffer that is not cleared before each use; small files
/// read ahead into the start of the ring only.
/// </summary>
[Trait("Tier", "Fast")]
public class ArchiveOutputTests
{
    private static byte[] Random(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Writes <paramref name="data"/> in pieces of varied sizes (single bytes to several blocks), then flushes.</summary>
    private static bool WriteInPieces(string path, byte[] data, bool tryDirect, int seed)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        using var output = new DirectFileOutput(file, tryDirect);
        var direct = output.Direct;
        var rng = new Random(seed);
        var at = 0;
        while (at < data.Length)
        {
            var n = Math.Min(data.Length - at, rng.Next(4) switch
            {
                0 => 1,
                1 => rng.Next(1, 5000),
                2 => rng.Next(1, 1 << 20),
                _ => rng.Next(1, 3 * DirectFileOutput.BlockBytes),
            });
            output.Write(data.AsSpan(at, n));
            at += n;
        }
        output.Flush();
        Assert.False(output.Direct); // the tail went through the page cache; nothing after it may go directly
        file.Flush(flushToDisk: true);
        Assert.Equal(data.Length, file.Length);
        return direct;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(DirectFileOutput.BlockBytes)]
    [InlineData(DirectFileOutput.BlockBytes + 1)]
    [InlineData(3 * DirectFileOutput.BlockBytes + 12_345)]
    [InlineData(DirectFileOutput.WritebackStep * 2 + 777)]
    public void The_file_holds_exactly_the_bytes_written_directly_or_through_the_page_cache(int size)
    {
        using var t = new TempDir();
        var data = Random(size, size);
        // The test folder is on the machine's disk (ext4 here and in CI), which takes O_DIRECT.
        Assert.True(WriteInPieces(t["direct"], data, tryDirect: true, seed: 1), "O_DIRECT was refused on " + t.Path);
        Assert.Equal(data, File.ReadAllBytes(t["direct"]));
        Assert.False(WriteInPieces(t["buffered"], data, tryDirect: false, seed: 2));
        Assert.Equal(data, File.ReadAllBytes(t["buffered"]));
    }

    [Fact]
    public void On_tmpfs_the_file_is_the_same_whether_or_not_it_takes_O_DIRECT()
    {
        var folder = Path.Combine("/dev/shm", "bkp-test-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        try
        {
            var data = Random(2 * DirectFileOutput.BlockBytes + 999, 7);
            WriteInPieces(Path.Combine(folder, "a"), data, tryDirect: true, seed: 3);
            Assert.Equal(data, File.ReadAllBytes(Path.Combine(folder, "a")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Only_a_new_empty_file_is_taken()
    {
        using var t = new TempDir();
        using var file = new FileStream(t["a"], FileMode.CreateNew, FileAccess.ReadWrite);
        file.Write([1, 2, 3]);
        Assert.Throws<ArgumentException>(() => new DirectFileOutput(file));
    }

    [Fact]
    public void A_chunk_output_keeps_what_is_written_reserved_and_advanced_across_growth()
    {
        var output = new ChunkOutput(16);
        output.Write([1, 2, 3]);
        var room = output.Reserve(100);   // grows past the capacity: what was written stays
        Assert.Equal(100, room.Length);
        room[0] = 4;
        room[1] = 5;
        output.Advance(2);
        output.WriteByte(6);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, output.Written.ToArray());
        Assert.Equal(6, output.Length);
        output.Truncate(2);
        output.Write([9]);
        Assert.Equal(new byte[] { 1, 2, 9 }, output.Written.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Truncate(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => output.Advance(1 << 20));

        // The native compressors also still write into a MemoryStream (the dump and repository writers pass one).
        var memory = new MemoryStream();
        memory.Write([7]);
        var span = ChunkOutput.Reserve(memory, 10);
        span[0] = 8;
        ChunkOutput.Advance(memory, 10, 1);
        Assert.Equal(new byte[] { 7, 8 }, memory.ToArray());
        Assert.Equal(2, memory.Position);
    }

    [Fact]
    public void Small_files_read_ahead_use_only_the_start_of_the_ring()
    {
        using var t = new TempDir();
        var rng = new Random(5);
        var expected = new List<byte[]>();
        for (var i = 0; i < 3000; i++)
        {
            var content = Random(rng.Next(0, 600), i);
            File.WriteAllBytes(t.File($"d/f{i:0000}"), content);
            expected.Add(content);
        }
        using var ahead = new FileReadAhead(threads: 2, window: 256, ringBytes: 8 << 20);
        var got = new List<byte[]>();
        for (var i = 0; i < 3000; i++)
        {
            var path = t[$"d/f{i:0000}"];
            var entry = new WalkEntry(path, Posix.LStat(path, out _)!.Value);
            while (ahead.Full(entry)) got.Add(ahead.Next().Content.ToArray());
            ahead.Enqueue(entry, hash: false);
        }
        while (ahead.Pending > 0) got.Add(ahead.Next().Content.ToArray());
        Assert.Equal(expected, got);
        // 256 files of at most 600 bytes are in flight at a time: the ring starts over near its beginning instead
        // of going round all 8 MiB, so most of it is never touched (and never resident).
        Assert.InRange(ahead.RingHighWater, 1, (256 << 10) + 601);
    }
}
