using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>What the Primary Volume Descriptor says about the volume, apart from the layout.</summary>
internal sealed record VolumeLabels(string VolumeId, string SystemId, string ApplicationId, string PublisherId, DateTimeOffset CreationTime);

/// <summary>The Primary Volume Descriptor (ECMA-119 8.4) and the Volume Descriptor Set Terminator (8.3).</summary>
internal static class VolumeDescriptors
{
    /// <param name="volumeBlocks">The volume space size to record (see <see cref="IsoImageWriter.HeadDescriptors"/>).</param>
    public static byte[] Primary(IsoLayout layout, VolumeLabels labels, byte[] rootRecord, uint volumeBlocks)
    {
        var block = new byte[IsoBytes.BlockSize];
        var d = block.AsSpan();
        Header(d, 1);
        IsoBytes.PaddedText(d.Slice(8, 32), labels.SystemId);
        IsoBytes.PaddedText(d.Slice(40, 32), labels.VolumeId);
        IsoBytes.Both32(d[80..], volumeBlocks);
        IsoBytes.Both16(d[120..], 1); // volume set size
        IsoBytes.Both16(d[124..], 1); // volume sequence number
        IsoBytes.Both16(d[128..], IsoBytes.BlockSize);
        IsoBytes.Both32(d[132..], (uint)layout.PathTableSize);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(d[140..], layout.LPathTableBlock);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(d[148..], layout.MPathTableBlock);
        rootRecord.CopyTo(d[156..]);
        IsoBytes.PaddedText(d.Slice(190, 128), ""); // volume set identifier
        IsoBytes.PaddedText(d.Slice(318, 128), labels.PublisherId);
        IsoBytes.PaddedText(d.Slice(446, 128), ""); // data preparer
        IsoBytes.PaddedText(d.Slice(574, 128), labels.ApplicationId);
        IsoBytes.PaddedText(d.Slice(702, 37), ""); // copyright file
        IsoBytes.PaddedText(d.Slice(739, 37), ""); // abstract file
        IsoBytes.PaddedText(d.Slice(776, 37), ""); // bibliographic file
        IsoDates.Long(d[813..], labels.CreationTime);
        IsoDates.Long(d[830..], labels.CreationTime);
        IsoDates.LongUnspecified(d[847..]); // expiration
        IsoDates.LongUnspecified(d[864..]); // effective
        d[881] = 1; // file structure version
        return block;
    }

    public static byte[] Terminator()
    {
        var block = new byte[IsoBytes.BlockSize];
        Header(block, 255);
        return block;
    }

    private static void Header(Span<byte> block, byte type)
    {
        block[0] = type;
        Encoding.ASCII.GetBytes("CD001").CopyTo(block[1..]);
        block[6] = 1;
    }
}
