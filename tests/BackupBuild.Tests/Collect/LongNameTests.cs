using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// Where GNU long-name ('L') and long-link ('K') entries start: like GNU tar, at 100 bytes, the first
/// length that leaves no room for a terminating NUL in the 100-byte field (Python waits for 101).
/// </summary>
[Trait("Tier", "Fast")]
public class LongNameTests
{
    private static readonly PosixStat File = new(0, 0, PosixStat.Regular | 0x1A4, 0, 0, 0, 0, 0, 0, 0, 0);
    private static readonly PosixStat Link = new(0, 0, PosixStat.Symlink | 0x1FF, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The type flags of the archive's headers, in order, with each header's name field.</summary>
    private static List<(char Type, string Name)> Headers(Action<TarArchiveWriter> add)
    {
        using var output = new MemoryStream();
        using (var writer = new TarArchiveWriter(output, ArchiveFormat.Tar, CompressionLevel.Optimal, 1))
        {
            add(writer);
            writer.Finish();
        }
        var tar = output.ToArray();
        var headers = new List<(char, string)>();
        for (var at = 0; tar[at] != 0; )
        {
            var block = tar.AsSpan(at, 512);
            Assert.Equal("ustar  \0"u8.ToArray(), block.Slice(257, 8).ToArray());
            var name = block[..100];
            var end = name.IndexOf((byte)0);
            headers.Add(((char)block[156], Encoding.UTF8.GetString(end < 0 ? name : name[..end])));
            var size = Convert.ToInt64(Encoding.ASCII.GetString(block.Slice(124, 11)), 8);
            at += 512 + (int)((size + 511) / 512 * 512);
        }
        return headers;
    }

    [Theory]
    [InlineData(99, "0")]
    [InlineData(100, "L0")]
    [InlineData(101, "L0")]
    [InlineData(300, "L0")]
    public void A_name_of_100_bytes_or_more_gets_a_long_name_entry(int length, string types)
    {
        var name = new string('n', length);
        var headers = Headers(w => w.AddFile(name, File, new MemoryStream()));
        Assert.Equal(types, new string([.. headers.Select(h => h.Type)]));
        if (types.Length > 1) Assert.Equal("././@LongLink", headers[0].Name);
        Assert.Equal(name[..Math.Min(length, 100)], headers[^1].Name);
    }

    [Theory]
    [InlineData(99, 99, "2")]
    [InlineData(99, 100, "K2")]
    [InlineData(100, 99, "L2")]
    [InlineData(150, 200, "KL2")] // link target first, as GNU tar and Python order them
    public void A_link_target_of_100_bytes_or_more_gets_a_long_link_entry(int nameLength, int targetLength, string types)
    {
        var headers = Headers(w => w.AddSymlink(new string('n', nameLength), Link, new string('t', targetLength)));
        Assert.Equal(types, new string([.. headers.Select(h => h.Type)]));
    }

    [Fact]
    public void Multibyte_names_are_measured_in_utf8_bytes()
    {
        var name = new string('é', 50); // 50 characters, 100 bytes
        Assert.Equal("L0", new string([.. Headers(w => w.AddFile(name, File, new MemoryStream())).Select(h => h.Type)]));
    }
}
