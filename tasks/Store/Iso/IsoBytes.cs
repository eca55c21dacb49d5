using System.Buffers.Binary;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// ECMA-119 numeric fields. Most are recorded "both-byte orders" (7.2.3, 7.3.3) so that readers on
/// either kind of machine can read them without swapping.
/// </summary>
internal static class IsoBytes
{
    public const int BlockSize = 2048;

    public static void Both16(Span<byte> target, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(target, value);
        BinaryPrimitives.WriteUInt16BigEndian(target[2..], value);
    }

    public static void Both32(Span<byte> target, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(target, value);
        BinaryPrimitives.WriteUInt32BigEndian(target[4..], value);
    }

    /// <summary>Number of whole logical blocks needed for <paramref name="bytes"/>.</summary>
    public static long Blocks(long bytes) => (bytes + BlockSize - 1) / BlockSize;

    /// <summary>Writes ASCII text left-aligned and pads the rest of the field with spaces, as 7.4 requires.</summary>
    public static void PaddedText(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        for (var i = 0; i < text.Length && i < field.Length; i++) field[i] = (byte)text[i];
    }
}
