using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// CompressionLevel means what it says: for gzip, bzip2 and zstd, smallest is never larger than optimal, and
/// optimal never larger than fastest, on small trees of different kinds (bench/collect.sh BENCH_ONLY=levels
/// checks the bench tree). The archives stay readable where a chunk kept the other level's output.
/// </summary>
public class CompressionLevelTests
{
    private static readonly CompressionLevel[] Levels =
        [CompressionLevel.Fastest, CompressionLevel.Optimal, CompressionLevel.SmallestSize];

    public static TheoryData<ArchiveFormat, string> FormatsAndTrees()
    {
        var data = new TheoryData<ArchiveFormat, string>();
        foreach (var format in new[] { ArchiveFormat.TarGz, ArchiveFormat.TarBz2, ArchiveFormat.TarZst })
            foreach (var tree in new[] { "mixed", "listing", "tiny", "random", "prose" })
                data.Add(format, tree);
        return data;
    }

    /// <summary>Writes one of the sample trees: each stands for a kind of data a peer holds.</summary>
    private static List<string> Tree(TempDir temp, string kind)
    {
        var random = new Random(kind.Length * 7919);
        var files = new List<(string Name, byte[] Content)>();
        string[] words = ["backup", "archive", "stage", "store", "purge", "collect", "peer", "master", "the", "of",
            "and", "to", "in", "config", "value", "error", "warning", "daily", "weekly", "image"];
        string Words(int size)
        {
            var text = new StringBuilder();
            while (text.Length < size)
                text.Append(words[random.Next(words.Length)]).Append(random.Next(12) == 0 ? '\n' : ' ');
            return text.ToString(0, size);
        }
        switch (kind)
        {
            case "mixed": // about 1.9 MB, half text, half random bytes, as the bench tree
                for (var i = 0; i < 90; i++)
                {
                    var size = random.Next(1024, 43008);
                    var bytes = i % 2 == 0 ? Encoding.ASCII.GetBytes(Words(size)) : new byte[size];
                    if (i % 2 == 1) random.NextBytes(bytes);
                    files.Add(($"d{i % 4}/f{i:D3}.{(i % 2 == 0 ? "txt" : "bin")}", bytes));
                }
                break;
            case "listing": // JSON-like lines, where zlib-ng's level 9 alone makes more than its level 6
                for (var i = 0; i < 4; i++)
                {
                    var text = new StringBuilder();
                    for (var j = 0; j < 8000; j++)
                        text.Append($"{{\"path\": \"/srv/data/file-{i * 8000 + j:D6}.txt\", \"size\": {random.Next(100000)}, \"mtime\": {1780000000 + j}}}\n");
                    files.Add(($"manifest-{i}.json", Encoding.ASCII.GetBytes(text.ToString())));
                }
                break;
            case "tiny":
                for (var i = 0; i < 12; i++) files.Add(($"etc/conf-{i}", Encoding.ASCII.GetBytes(Words(random.Next(0, 600)))));
                break;
            case "random":
                for (var i = 0; i < 6; i++)
                {
                    var bytes = new byte[random.Next(1000, 300_000)];
                    random.NextBytes(bytes);
                    files.Add(($"blob-{i}", bytes));
                }
                break;
            case "prose":
                files.Add(("book.txt", Encoding.ASCII.GetBytes(Words(3_000_000))));
                break;
        }
        var paths = new List<string>();
        foreach (var (name, content) in files)
        {
            var path = temp[$"{kind}/{name}"];
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            File.SetLastWriteTimeUtc(path, new DateTime(2026, 11, 24, 1, 0, 0, DateTimeKind.Utc));
            paths.Add(path);
        }
        return paths;
    }

    private static long Write(string archive, List<string> paths, ArchiveFormat format, CompressionLevel level)
    {
        using (var output = new FileStream(archive, FileMode.CreateNew, FileAccess.Write))
        using (var writer = new TarArchiveWriter(output, format, level, threads: 2))
        {
            foreach (var path in paths) Archives.Add(writer, path);
            writer.Finish();
        }
        return new FileInfo(archive).Length;
    }

    [Theory, MemberData(nameof(FormatsAndTrees))]
    public void Each_level_is_at_least_as_small_as_the_one_before(ArchiveFormat format, string kind)
    {
        using var temp = new TempDir();
        var paths = Tree(temp, kind);
        var sizes = Levels.Select(level =>
            Write(temp[$"{level}{Archives.Extension(format)}"], paths, format, level)).ToArray();
        var shown = string.Join(", ", Levels.Zip(sizes, (l, s) => $"{l} {s}"));
        Assert.True(sizes[1] <= sizes[0] && sizes[2] <= sizes[1], $"{format} on {kind}: {shown}");

        // Whatever level each chunk kept, the archive reads back whole.
        var smallest = temp[$"{CompressionLevel.SmallestSize}{Archives.Extension(format)}"];
        ArchiveReaders.AssertGnuTarExtracts(smallest, format, paths, temp["out"]);
    }

    [Fact]
    public void Smallest_gzip_keeps_level_6_where_level_9_is_larger()
    {
        using var temp = new TempDir();
        var paths = Tree(temp, "listing");
        var nine = temp["nine.tar.gz"];
        using (var output = new FileStream(nine, FileMode.CreateNew, FileAccess.Write))
        using (var writer = new TarArchiveWriter(output, new GzipMemberCompressor(CompressionLevel.SmallestSize), 2, ChunkSizes.Gzip))
        {
            foreach (var path in paths) Archives.Add(writer, path);
            writer.Finish();
        }
        var optimal = Write(temp["optimal.tar.gz"], paths, ArchiveFormat.TarGz, CompressionLevel.Optimal);
        var smallest = Write(temp["smallest.tar.gz"], paths, ArchiveFormat.TarGz, CompressionLevel.SmallestSize);
        // The runtime's zlib-ng at level 9 alone loses to its level 6 here; smallest takes the better of the two.
        Assert.True(smallest <= Math.Min(optimal, new FileInfo(nine).Length), $"smallest {smallest}, optimal {optimal}, level 9 {new FileInfo(nine).Length}");
        ArchiveReaders.Run("gzip", "-t", temp["smallest.tar.gz"]);
    }
}
