using System.Buffers.Binary;
using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>What a Primary Volume Descriptor (ECMA-119 8.4) says: the label, the size, where the root is.</summary>
public sealed record IsoVolume(string VolumeId, uint VolumeBlocks, uint RootExtent, uint RootLength)
{
    /// <summary>Reads a primary descriptor, or null when the block is not one (blank medium, other data).</summary>
    public static IsoVolume? TryParse(ReadOnlySpan<byte> block)
    {
        if (block.Length < IsoBytes.BlockSize || block[0] != 1 || !block[1..6].SequenceEqual("CD001"u8) || block[6] != 1)
            return null;
        var blockSize = BinaryPrimitives.ReadUInt16LittleEndian(block[128..]);
        if (blockSize != IsoBytes.BlockSize) return null;
        var root = block.Slice(156, 34);
        return new IsoVolume(
            Encoding.ASCII.GetString(block.Slice(40, 32)).TrimEnd(' ', '\0'),
            BinaryPrimitives.ReadUInt32LittleEndian(block[80..]),
            BinaryPrimitives.ReadUInt32LittleEndian(root[2..]),
            BinaryPrimitives.ReadUInt32LittleEndian(root[10..]));
    }

    /// <summary>Reads the descriptor at <paramref name="block"/> of a medium, or null.</summary>
    public static IsoVolume? TryRead(Stream medium, long block)
    {
        var buffer = new byte[IsoBytes.BlockSize];
        if (!MediumBlocks.TryRead(medium, block, buffer)) return null;
        return TryParse(buffer);
    }
}
