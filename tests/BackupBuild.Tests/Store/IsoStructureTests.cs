using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>
/// ECMA-119 rules that lenient readers would not notice: descriptor fields, record placement and
/// order, and path tables that agree with the directory tree.
/// </summary>
public class IsoStructureTests(IsoImageFixture fixture) : IClassFixture<IsoImageFixture>
{
    private const int Block = 2048;

    private sealed record Directory(uint Extent, int ParentNumber, string Identifier);

    [Fact]
    public void Volume_descriptors_follow_the_system_area()
    {
        var image = File.ReadAllBytes(fixture.Image);
        Assert.True(image.AsSpan(0, 16 * Block).IndexOfAnyExcept((byte)0) < 0, "system area must be zero");
        var pvd = image.AsSpan(16 * Block, Block);
        Assert.Equal(1, pvd[0]);
        Assert.Equal("CD001", Encoding.ASCII.GetString(pvd[1..6]));
        Assert.Equal((uint)(image.Length / Block), Both32(pvd[80..]));
        Assert.Equal(Block, BinaryPrimitives.ReadUInt16LittleEndian(pvd[128..]));
        Assert.Equal(34, pvd[156]);
        Assert.Equal("2026112121300000", Encoding.ASCII.GetString(pvd.Slice(813, 16))); // creation time in UTC
        var terminator = image.AsSpan(17 * Block, Block);
        Assert.Equal(255, terminator[0]);
        Assert.Equal("CD001", Encoding.ASCII.GetString(terminator[1..6]));
    }

    [Fact]
    public void Directory_records_are_sorted_placed_and_matched_by_both_path_tables()
    {
        var image = File.ReadAllBytes(fixture.Image);
        var pvd = image.AsSpan(16 * Block, Block);
        var rootExtent = Both32(pvd[158..]);

        var tree = new List<Directory> { new(rootExtent, 1, "\0") };
        for (var number = 1; number <= tree.Count; number++)
        {
            var self = tree[number - 1];
            var records = Records(image, self.Extent);
            Assert.Equal("\0", records[0].Id);
            Assert.Equal(self.Extent, records[0].Extent);
            Assert.Equal("\u0001", records[1].Id);
            Assert.Equal(tree[self.ParentNumber - 1].Extent, records[1].Extent);
            for (var i = 3; i < records.Count; i++)
            {
                var order = Compare(records[i - 1].Id, records[i].Id);
                // Only the extents of one multi-extent file may share an identifier.
                Assert.True(order < 0 || (order == 0 && (records[i - 1].Flags & 0x80) != 0),
                    $"'{records[i - 1].Id}' then '{records[i].Id}' is not ECMA-119 order");
            }
            foreach (var child in records.Skip(2).Where(r => (r.Flags & 2) != 0))
                tree.Add(new Directory(child.Extent, number, child.Id));
        }

        var size = (int)Both32(pvd[132..]);
        var little = PathTable(image.AsSpan((int)BinaryPrimitives.ReadUInt32LittleEndian(pvd[140..]) * Block, size), bigEndian: false);
        var big = PathTable(image.AsSpan((int)BinaryPrimitives.ReadUInt32BigEndian(pvd[148..]) * Block, size), bigEndian: true);
        Assert.Equal(tree, little);
        Assert.Equal(tree, big);
    }

    [Fact]
    public void The_root_record_starts_with_the_SUSP_indicator()
    {
        var image = File.ReadAllBytes(fixture.Image);
        var rootExtent = Both32(image.AsSpan(16 * Block + 158));
        var dot = image.AsSpan((int)rootExtent * Block);
        Assert.Equal(new byte[] { (byte)'S', (byte)'P', 7, 1, 0xBE, 0xEF, 0 }, dot.Slice(34, 7).ToArray());
    }

    private sealed record Record(string Id, uint Extent, byte Flags);

    private static List<Record> Records(byte[] image, uint extent)
    {
        var records = new List<Record>();
        var start = (int)extent * Block;
        var length = (int)Both32(image.AsSpan(start + 10));
        Assert.Equal(0, length % Block);
        for (var offset = 0; offset < length;)
        {
            var r = image.AsSpan(start + offset);
            if (r[0] == 0)
            {
                offset = (offset / Block + 1) * Block;
                continue;
            }
            Assert.True(offset % Block + r[0] <= Block, "a directory record crosses a block boundary");
            Assert.Equal(0, r[0] % 2);
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(r[2..]), BinaryPrimitives.ReadUInt32BigEndian(r[6..]));
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(r[10..]), BinaryPrimitives.ReadUInt32BigEndian(r[14..]));
            records.Add(new Record(Encoding.ASCII.GetString(r.Slice(33, r[32])), Both32(r[2..]), r[25]));
            offset += r[0];
        }
        return records;
    }

    private static List<Directory> PathTable(ReadOnlySpan<byte> table, bool bigEndian)
    {
        var result = new List<Directory>();
        while (table.Length > 0)
        {
            var length = table[0];
            var extent = bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(table[2..]) : BinaryPrimitives.ReadUInt32LittleEndian(table[2..]);
            var parent = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(table[6..]) : BinaryPrimitives.ReadUInt16LittleEndian(table[6..]);
            result.Add(new Directory(extent, parent, Encoding.ASCII.GetString(table.Slice(8, length))));
            table = table[(8 + length + length % 2)..];
        }
        return result;
    }

    /// <summary>ECMA-119 9.3: name, then extension, each space padded; then version, highest first.</summary>
    private static int Compare(string a, string b)
    {
        static (string, string, string) Split(string id)
        {
            var semicolon = id.IndexOf(';');
            var version = semicolon < 0 ? "" : id[(semicolon + 1)..];
            var file = semicolon < 0 ? id : id[..semicolon];
            var dot = file.IndexOf('.');
            return dot < 0 ? (file, "", version) : (file[..dot], file[(dot + 1)..], version);
        }
        static int Padded(string x, string y)
        {
            var width = Math.Max(x.Length, y.Length);
            return string.CompareOrdinal(x.PadRight(width), y.PadRight(width));
        }
        var (na, ea, va) = Split(a);
        var (nb, eb, vb) = Split(b);
        var result = Padded(na, nb);
        if (result == 0) result = Padded(ea, eb);
        if (result == 0) result = -Padded(va, vb);
        return result;
    }

    private static uint Both32(ReadOnlySpan<byte> field)
    {
        var little = BinaryPrimitives.ReadUInt32LittleEndian(field);
        Assert.Equal(little, BinaryPrimitives.ReadUInt32BigEndian(field[4..]));
        return little;
    }
}
