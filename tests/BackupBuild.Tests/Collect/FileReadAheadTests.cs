using System.Security.Cryptography;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// Collect reads files ahead on reader threads (FileReadAhead) while one thread assembles the tar stream in walk
/// order: the archive is byte for byte what reading each file in turn on one thread makes, and a file that changes,
/// vanishes or is swapped for a symlink between the walk and the read has the same outcome as before.
/// </summary>
[Collection("CollectArchives progress interval")]
[Trait("Tier", "Fast")]
public class FileReadAheadTests
{
    private static CollectArchives Task(TempDir t, FakeBuildEngine engine, string runDate, params Microsoft.Build.Framework.ITaskItem[] dirs) => new()
    {
        BuildEngine = engine,
        CollectDirectories = dirs,
        CollectDir = t["var/collect"],
        WorkingDir = t["var/work"],
        RunSettings = PropsDefaults.Run(runDate),
        CollectSettings = PropsDefaults.Collect(("CompressionThreads", "2"), ("CollectCarryUnstaged", "false")),
    };

    private static byte[] Bytes(Random random, int count, bool text)
    {
        var b = new byte[count];
        if (text) for (var i = 0; i < count; i++) b[i] = (byte)"abcdefgh \n"[random.Next(10)];
        else random.NextBytes(b);
        return b;
    }

    /// <summary>Many small files, some around and above the size read whole, a few large ones, empty files and links.</summary>
    private static void MixedTree(TempDir t)
    {
        var random = new Random(20);
        for (var i = 0; i < 1200; i++)
            File.WriteAllBytes(t.File($"src/d{i % 24:00}/f{i:0000}"), Bytes(random, random.Next(0, 3000), i % 2 == 0));
        for (var i = 0; i < 8; i++)
            File.WriteAllBytes(t.File($"src/d{i:00}/medium{i}"), Bytes(random, 40_000 + i * 9_000, i % 2 == 0));
        for (var i = 0; i < 3; i++)
            File.WriteAllBytes(t.File($"src/d1{i}/large{i}"), Bytes(random, (2 << 20) + i * 333_333, i != 1));
        for (var i = 0; i < 5; i++) t.File($"src/empty/e{i}");
        File.CreateSymbolicLink(t["src/d03/link-to-file"], t["src/d01/f0001"]);
        File.CreateSymbolicLink(t["src/d04/link-relative"], "../d05/f0005");
    }

    /// <summary>The single-threaded way: each entry of the walk opened and streamed in turn (Archives.Add).</summary>
    private static byte[] Reference(TempDir t, ArchiveFormat format)
    {
        var walker = new CollectWalker("", [], [], (_, _, _) => { });
        walker.AddDirectory(t["src"], 0, dereference: false);
        var archive = t["reference" + Archives.Extension(format)];
        File.Delete(archive);
        Archives.Write(archive, walker.Entries.Select(e => e.Path), format);
        return File.ReadAllBytes(archive);
    }

    private static string Mode(ArchiveFormat format) => format switch
    {
        ArchiveFormat.Tar => "tar",
        ArchiveFormat.TarGz => "targz",
        ArchiveFormat.TarBz2 => "tarbz2",
        _ => "tarzst",
    };

    private static string Collected(TempDir t, FakeBuildEngine engine, ArchiveFormat format, string runDate = "2026-11-24T01:00",
        string collectMode = "daily")
    {
        var item = PropsDefaults.Defined("CollectDirectory", t["src"], ("CollectMode", collectMode), ("ArchiveMode", Mode(format)));
        Assert.True(Task(t, engine, runDate, item).Execute(), engine.AllText);
        return Directory.GetFiles(t["var/collect"], "*" + Archives.Extension(format)).Single();
    }

    private static void With((int, int, int, int) readAhead, Action run)
    {
        var saved = CollectArchives.ReadAhead;
        CollectArchives.ReadAhead = readAhead;
        try
        {
            run();
        }
        finally
        {
            CollectArchives.ReadAhead = saved;
        }
    }

    public static TheoryData<ArchiveFormat, int, int, int, int> Settings => new()
    {
        // The defaults, then settings that make the ring wrap often and stream the medium files: one reader, several.
        { ArchiveFormat.Tar, 0, 256, 8 << 20, 512 << 10 },
        { ArchiveFormat.Tar, 1, 4, 64 << 10, 48 << 10 },
        { ArchiveFormat.Tar, 4, 16, 100_000, 60_000 },
        { ArchiveFormat.TarGz, 3, 32, 256 << 10, 64 << 10 },
        { ArchiveFormat.TarBz2, 2, 8, 128 << 10, 70_000 },
        { ArchiveFormat.TarZst, 4, 256, 8 << 20, 512 << 10 },
    };

    [Theory, MemberData(nameof(Settings))]
    public void The_archive_is_byte_for_byte_the_single_threaded_one(ArchiveFormat format, int threads, int window, int ring, int whole)
    {
        using var t = new TempDir();
        MixedTree(t);
        var engine = new FakeBuildEngine();
        string archive = "";
        With((threads, window, ring, whole), () => archive = Collected(t, engine, format));
        Assert.Empty(engine.Warnings);
        Assert.True(Reference(t, format).AsSpan().SequenceEqual(File.ReadAllBytes(archive)),
            $"{Path.GetFileName(archive)} differs from the single-threaded archive");
        var listing = ArchiveReaders.Run("tar", [.. Archives.TarCompressionOption(format), "-t", "-f", archive]).Output;
        Assert.Equal(1200 + 8 + 3 + 5 + 2, listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    public static TheoryData<int> Sizes => [2_000, 3 << 20];

    private static ArchiveReaders.Member Member(string archive, string path) =>
        ArchiveReaders.PythonList(archive, ArchiveFormat.TarGz).Single(m => m.Name == SampleTree.EntryName(path));

    private static (FakeBuildEngine Engine, string Archive) CollectChanging(TempDir t, string path, Action<string>? beforeOpen,
        Action<string>? afterOpen)
    {
        FileReadAhead.BeforeOpen = p => { if (p == path) beforeOpen?.Invoke(p); };
        FileReadAhead.AfterOpen = p => { if (p == path) afterOpen?.Invoke(p); };
        try
        {
            var engine = new FakeBuildEngine();
            return (engine, Collected(t, engine, ArchiveFormat.TarGz));
        }
        finally
        {
            FileReadAhead.BeforeOpen = null;
            FileReadAhead.AfterOpen = null;
        }
    }

    private static string Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    [Theory, MemberData(nameof(Sizes))]
    public void A_file_that_grows_while_read_keeps_its_stat_size_and_is_reported(int size)
    {
        using var t = new TempDir();
        MixedTree(t);
        var path = t.File("src/d07/changing");
        var content = Bytes(new Random(1), size, text: false);
        File.WriteAllBytes(path, content);
        var (engine, archive) = CollectChanging(t, path, null, p => File.AppendAllText(p, new string('x', 5000)));
        Assert.Equal(["BKP2003"], engine.WarningCodes);
        var member = Member(archive, path);
        Assert.Equal(size, member.Size);
        Assert.Equal(Hex(content), member.Sha256);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void A_file_that_shrinks_while_read_is_padded_with_zeros_and_reported(int size)
    {
        using var t = new TempDir();
        MixedTree(t);
        var path = t.File("src/d07/changing");
        var content = Bytes(new Random(2), size, text: false);
        File.WriteAllBytes(path, content);
        var (engine, archive) = CollectChanging(t, path, null, p => { using var f = File.OpenWrite(p); f.SetLength(size / 2); });
        Assert.Equal(["BKP2003"], engine.WarningCodes);
        var member = Member(archive, path);
        Assert.Equal(size, member.Size);
        Assert.Equal(Hex([.. content[..(size / 2)], .. new byte[size - size / 2]]), member.Sha256);
    }

    // A small file is read before its one fstat, which must show the file the walk saw (ReadAsWalked): a file changed
    // between the walk and the read is read again and archived as it is then, whole, without a warning, as before.
    [Theory, MemberData(nameof(Sizes))]
    public void A_file_that_grows_before_it_is_read_is_archived_whole_as_it_is_then(int size)
    {
        using var t = new TempDir();
        MixedTree(t);
        var path = t.File("src/d07/changing");
        var content = Bytes(new Random(3), size, text: false);
        File.WriteAllBytes(path, content);
        var appended = Bytes(new Random(4), 5000, text: true);
        var (engine, archive) = CollectChanging(t, path, p => { using var f = new FileStream(p, FileMode.Append); f.Write(appended); }, null);
        Assert.Empty(engine.Warnings);
        var member = Member(archive, path);
        Assert.Equal(size + 5000, member.Size);
        Assert.Equal(Hex([.. content, .. appended]), member.Sha256);
    }

    [Fact]
    public void A_small_file_rewritten_at_the_same_size_before_it_is_read_is_archived_with_its_new_content_and_time()
    {
        using var t = new TempDir();
        MixedTree(t);
        var path = t.File("src/d07/changing");
        File.WriteAllBytes(path, Bytes(new Random(5), 2_000, text: false));
        var rewritten = Bytes(new Random(6), 2_000, text: true);
        var mtime = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var (engine, archive) = CollectChanging(t, path, p =>
        {
            File.WriteAllBytes(p, rewritten);
            File.SetLastWriteTimeUtc(p, mtime);
        }, null);
        Assert.Empty(engine.Warnings);
        var member = Member(archive, path);
        Assert.Equal(2_000, member.Size);
        Assert.Equal(Hex(rewritten), member.Sha256);
        Assert.Equal(new DateTimeOffset(mtime).ToUnixTimeSeconds(), member.MTime);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void A_file_that_vanishes_before_it_is_read_is_left_out_and_reported(int size)
    {
        using var t = new TempDir();
        MixedTree(t);
        var path = t.File("src/d07/changing");
        File.WriteAllBytes(path, new byte[size]);
        var (engine, archive) = CollectChanging(t, path, File.Delete, null);
        Assert.Equal(["BKP2004"], engine.WarningCodes);
        var members = ArchiveReaders.PythonList(archive, ArchiveFormat.TarGz, readContent: false);
        Assert.DoesNotContain(members, m => m.Name == SampleTree.EntryName(path));
        Assert.Equal(1200 + 8 + 3 + 5 + 2, members.Count);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void A_symlink_swapped_in_for_a_file_is_not_followed(int size)
    {
        using var t = new TempDir();
        MixedTree(t);
        var secret = t.File("secret/key", "not for the archive");
        var path = t.File("src/d07/changing");
        File.WriteAllBytes(path, new byte[size]);
        var (engine, archive) = CollectChanging(t, path, p =>
        {
            File.Delete(p);
            File.CreateSymbolicLink(p, secret);
        }, null);
        Assert.Equal(["BKP2004"], engine.WarningCodes);
        var members = ArchiveReaders.PythonList(archive, ArchiveFormat.TarGz);
        Assert.DoesNotContain(members, m => m.Name == SampleTree.EntryName(path));
        Assert.DoesNotContain(members, m => m.Sha256 == Hex(File.ReadAllBytes(secret)));
    }

    [Fact]
    public void An_incremental_item_with_a_baseline_archives_new_and_changed_files_and_keeps_its_state_in_order()
    {
        using var t = new TempDir();
        MixedTree(t);
        With((2, 8, 64 << 10, 16 << 10), () =>
        {
            // Monday is the starting day: everything. Tuesday: new files between known ones, a few changed.
            var first = new FakeBuildEngine();
            Collected(t, first, ArchiveFormat.Tar, "2026-11-23T01:00", "incr");
            Directory.Delete(t["var/collect"], true);
            var expected = new List<string>();
            for (var i = 0; i < 24; i += 3)
            {
                expected.Add(t.File($"src/d{i:00}/f{i:0000}a", "new " + i));
                File.AppendAllText(t[$"src/d{i:00}/f{i:0000}"], "changed");
                expected.Add(t[$"src/d{i:00}/f{i:0000}"]);
            }
            File.AppendAllText(t["src/d10/large0"], "changed");
            expected.Add(t["src/d10/large0"]);
            var second = new FakeBuildEngine();
            var archive = Collected(t, second, ArchiveFormat.Tar, "2026-11-24T01:00", "incr");
            var names = ArchiveReaders.PythonList(archive, ArchiveFormat.Tar, readContent: false)
                .Where(m => m.Type == "0").Select(m => m.Name).Order().ToList();
            Assert.Equal(expected.Select(SampleTree.EntryName).Order().ToList(), names);

            // The state saved on Tuesday knows every file: on Wednesday, with nothing changed, only the symlinks are
            // archived (always, as Cedar does).
            Directory.Delete(t["var/collect"], true);
            var third = new FakeBuildEngine();
            archive = Collected(t, third, ArchiveFormat.Tar, "2026-11-25T01:00", "incr");
            Assert.Equal(["2", "2"], ArchiveReaders.PythonList(archive, ArchiveFormat.Tar, readContent: false).Select(m => m.Type));
            Assert.Empty(third.Warnings);
        });
    }
}

/// <summary>tarbz2 at the default levels compresses as `pbzip2 -9` does: 900 kB blocks, one stream per chunk of two.</summary>
[Trait("Tier", "Fast")]
public class Bzip2BlockSizeTests
{
    [Theory]
    [InlineData(System.IO.Compression.CompressionLevel.Optimal)]
    [InlineData(System.IO.Compression.CompressionLevel.Fastest)]
    public void Default_levels_write_streams_of_900k_blocks_two_blocks_per_chunk(System.IO.Compression.CompressionLevel level)
    {
        Assert.Equal(2 * (900_000 - 19), ChunkSizes.Bzip2);
        var random = new Random(9);
        var data = new byte[5_000_000];
        for (var i = 0; i < data.Length; i++) data[i] = (byte)"abcdefghij \n"[random.Next(12)];
        using var output = new MemoryStream();
        long tarBytes;
        using (var writer = new TarArchiveWriter(output, ArchiveFormat.TarBz2, level, 2))
        {
            var stat = new BackupBuild.Tasks.Infrastructure.PosixStat(0, 0, 0x81A4, 0, 0, data.Length, 0, 0, 0, 0, 0);
            writer.AddFile("data", stat, new MemoryStream(data));
            writer.Finish();
            tarBytes = writer.BytesIn;
        }
        var archive = output.ToArray();
        // Each stream starts byte-aligned with "BZh" and its block size in 100 kB, then the first block's magic.
        var streams = 0;
        for (var at = 0; (at = archive.AsSpan(at).IndexOf("BZh"u8) is var i and >= 0 ? at + i : -1) >= 0; at += 3)
        {
            if (!archive.AsSpan(at + 4).StartsWith("1AY&SY"u8)) continue;
            Assert.Equal((byte)'9', archive[at + 3]);
            streams++;
        }
        Assert.Equal((tarBytes + ChunkSizes.Bzip2 - 1) / ChunkSizes.Bzip2, streams);
    }
}
