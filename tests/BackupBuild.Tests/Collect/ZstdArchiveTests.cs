using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// ArchiveMode tarzst: the tar stream as independent zstd frames compressed in parallel, read back by zstd,
/// GNU tar --zstd and bsdtar, and by BackupBuild's own Restore, Find and Verify (through split pieces too).
/// </summary>
public class ZstdArchiveTests
{
    private const int SmallChunk = 4099; // many frames from little data, not a multiple of the tar block

    private static List<string> MixedFiles(TempDir temp, int count, int maxSize) =>
        ChunkedCompressionTests.MixedFiles(temp, count, maxSize);

    /// <summary>The number of frames `zstd -l` counts in the file.</summary>
    private static int Frames(string archive)
    {
        var list = ArchiveReaders.Run("zstd", "-l", "-v", archive).Output;
        var line = list.Split('\n').Single(l => l.TrimStart().StartsWith("# Zstandard Frames:", StringComparison.Ordinal));
        return int.Parse(line.Split(':')[1].Trim());
    }

    private static void AssertReadsBack(string archive, List<string> files, TempDir temp)
    {
        ArchiveReaders.Run("zstd", "-t", "-q", archive);
        ArchiveReaders.AssertGnuTarExtracts(archive, ArchiveFormat.TarZst, files, temp["gnu"]);
        ArchiveReaders.AssertBsdtarExtracts(archive, files, temp["bsd"]);
        // zstd -d alone gives the plain tar, which GNU tar reads without any decompressor.
        ArchiveReaders.Run("zstd", "-d", "-q", archive, "-o", temp["plain.tar"]);
        ArchiveReaders.AssertGnuTarExtracts(temp["plain.tar"], ArchiveFormat.Tar, files, temp["plain"]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Hundreds_of_frames_read_back_with_zstd_gnu_tar_and_bsdtar(int threads)
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 60, 40_000);
        var archive = temp["many.tar.zst"];
        var (bytesIn, bytesOut) = Archives.Write(archive, files, ArchiveFormat.TarZst, threads, SmallChunk);

        Assert.Equal(new FileInfo(archive).Length, bytesOut);
        var frames = Frames(archive);
        Assert.True(frames >= bytesIn / SmallChunk, $"{frames} frames for {bytesIn} bytes");
        AssertReadsBack(archive, files, temp);
    }

    [Fact]
    public void Default_chunk_size_archives_spanning_several_frames_read_back()
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 100, 1_300_000);
        var archive = temp["default.tar.zst"];
        var (bytesIn, _) = Archives.Write(archive, files, ArchiveFormat.TarZst);
        Assert.True(bytesIn > 2 * ChunkSizes.Zstd, $"only {bytesIn} bytes");
        Assert.Equal((int)((bytesIn + ChunkSizes.Zstd - 1) / ChunkSizes.Zstd), Frames(archive));
        AssertReadsBack(archive, files, temp);
    }

    [Fact]
    public void Frames_from_the_managed_encoder_read_back_with_every_reader()
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 30, 60_000);
        var archive = temp["managed.tar.zst"];
        Archives.Write(archive, files, ArchiveFormat.TarZst, threads: 2, chunkSize: 150_000,
            compressor: new ManagedZstdCompressor(CompressionLevel.Optimal));
        Assert.True(Frames(archive) > 3);
        AssertReadsBack(archive, files, temp);
    }

    [Fact]
    public void The_system_libzstd_is_used_for_zstd()
    {
        Assert.IsType<NativeZstdCompressor>(ChunkCompressors.For(ArchiveFormat.TarZst, CompressionLevel.Fastest));
        var optimal = Assert.IsType<SmallerOfCompressor>(ChunkCompressors.For(ArchiveFormat.TarZst, CompressionLevel.Optimal));
        Assert.IsType<NativeZstdCompressor>(optimal.First);
    }

    [Fact]
    public void Our_reader_recognises_zstd_by_its_magic_reads_every_frame_and_refuses_a_truncated_stream()
    {
        using var temp = new TempDir();
        var files = MixedFiles(temp, 40, 30_000);
        var archive = temp["a.tar.zst"];
        Archives.Write(archive, files, ArchiveFormat.TarZst, threads: 2, chunkSize: SmallChunk);
        ArchiveReaders.Run("zstd", "-d", "-q", archive, "-o", temp["a.tar"]);
        var expected = File.ReadAllBytes(temp["a.tar"]);

        Assert.True(ArchiveStreams.IsArchiveName("home-user.tar.zst"));
        Assert.Equal("home-user", ArchiveStreams.Stem("home-user.tar.zst"));
        using (var tar = ArchiveStreams.OpenTar(File.OpenRead(archive)))
        {
            var got = new MemoryStream();
            tar.CopyTo(got);
            Assert.Equal(expected, got.ToArray());
        }

        // Cut inside a frame: an error, never a shorter tar presented as the whole.
        var bytes = File.ReadAllBytes(archive);
        File.WriteAllBytes(temp["cut.tar.zst"], bytes[..(bytes.Length * 2 / 3)]);
        Assert.ThrowsAny<Exception>(() =>
        {
            using var tar = ArchiveStreams.OpenTar(File.OpenRead(temp["cut.tar.zst"]));
            tar.CopyTo(Stream.Null);
        });

        // A flipped byte inside the data: the frame's checksum (or its structure) refuses it.
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(temp["bad.tar.zst"], bytes);
        Assert.ThrowsAny<Exception>(() =>
        {
            using var tar = ArchiveStreams.OpenTar(File.OpenRead(temp["bad.tar.zst"]));
            tar.CopyTo(Stream.Null);
        });
    }

    [Fact]
    public void A_tarzst_day_validates_collects_verifies_restores_and_finds_through_msbuild_also_split_into_pieces()
    {
        using var t = new TempDir();
        var random = new byte[300 * 1024];
        new Random(7).NextBytes(random);
        File.WriteAllBytes(t.Dir("src/big") + "/random.bin", random);
        t.File("src/big/notes/readme.txt", string.Concat(Enumerable.Repeat("zstd frames, one per chunk\n", 2000)));
        t.File("src/etc/app.conf", "listen 80\n");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("StoreMediaType", "image").Property("StoreImageCapacity", "10 MB")
            .Property("SplitSizeLimit", "100 KB").Property("SplitSize", "64 KB")
            .Property("ArchiveMode", "tarzst")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/big"], ("CollectMode", "daily"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarzst"));

        var validate = p.Run("Validate");
        Assert.True(validate.ExitCode == 0, validate.All);

        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        var day = Path.Combine(p.StagingDir, "2026/11/24/master");
        var big = Tasks.Infrastructure.NormalizedPath.From(t["src/big"]) + ".tar.zst";
        var etc = Tasks.Infrastructure.NormalizedPath.From(t["src/etc"]) + ".tar.zst";
        Assert.True(File.Exists(Path.Combine(day, big + "_00000")), string.Join("\n", Directory.GetFiles(day)));
        Assert.True(File.Exists(Path.Combine(day, etc)), string.Join("\n", Directory.GetFiles(day)));
        Assert.Equal("listen 80\n", ArchiveReaders.Run("tar", "--zstd", "-x", "-O", "-f", Path.Combine(day, etc)).Output);

        var verify = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("4 archive copies read, 0 bad, 0 missing", verify.Output);

        var to = t["restore"];
        var restore = p.Run("Restore", "RestoreTo=" + to);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal(random, File.ReadAllBytes(to + t["src/big/random.bin"]));
        Assert.Equal(File.ReadAllText(t["src/big/notes/readme.txt"]), File.ReadAllText(to + t["src/big/notes/readme.txt"]));
        Assert.Equal("listen 80\n", File.ReadAllText(to + t["src/etc/app.conf"]));

        var find = p.Run("Find", "FindPattern=**/readme.txt");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains("notes/readme.txt  in ", find.Output);

        Directory.Delete(p.StagingDir, true);
        var fromImage = t["restore-image"];
        restore = p.Run("Restore", "RestoreTo=" + fromImage);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal(random, File.ReadAllBytes(fromImage + t["src/big/random.bin"]));
    }

    [Fact]
    public void An_unknown_archive_mode_names_tarzst_among_the_choices()
    {
        using var t = new TempDir();
        t.Dir("src");
        var p = new BackupProject(t.Path).Item("CollectDirectory", t["src"], ("ArchiveMode", "tarxz"));
        var run = p.Run("Validate");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("BKP1022", run.Output);
        Assert.Contains("tar, targz, tarbz2 or tarzst", run.Output);
    }
}
