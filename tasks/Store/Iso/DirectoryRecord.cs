namespace BackupBuild.Tasks.Store.Iso;

/// <summary>An ECMA-119 directory record (9.1): 33 fixed bytes, the identifier, a pad byte, System Use.</summary>
internal static class DirectoryRecord
{
    public const int FixedLength = 33;
    public const byte DirectoryFlag = 0x02;
    public const byte MultiExtentFlag = 0x80; // "not the final record of this file" (9.1.6)

    // Record lengths are one byte and must be even.
    private const int MaxLength = 254;

    public static readonly byte[] Self = [0x00];
    public static readonly byte[] Parent = [0x01];

    public static int SystemUseOffset(int identifierLength) => FixedLength + identifierLength + (identifierLength % 2 == 0 ? 1 : 0);

    public static int SystemUseCapacity(int identifierLength) => MaxLength - SystemUseOffset(identifierLength);

    public static byte[] Encode(ReadOnlySpan<byte> identifier, uint extent, uint dataLength, long mtime, byte flags,
        ReadOnlySpan<byte> systemUse)
    {
        var suOffset = SystemUseOffset(identifier.Length);
        var length = suOffset + systemUse.Length;
        length += length % 2;
        if (length > 255) throw new InvalidOperationException("A directory record grew beyond 255 bytes.");

        var record = new byte[length];
        record[0] = (byte)length;
        record[1] = 0; // no extended attribute record
        IsoBytes.Both32(record.AsSpan(2), extent);
        IsoBytes.Both32(record.AsSpan(10), dataLength);
        IsoDates.Short(record.AsSpan(18), mtime);
        record[25] = flags;
        record[26] = 0; // not interleaved
        record[27] = 0;
        IsoBytes.Both16(record.AsSpan(28), 1); // volume sequence number
        record[32] = (byte)identifier.Length;
        identifier.CopyTo(record.AsSpan(FixedLength));
        systemUse.CopyTo(record.AsSpan(suOffset));
        return record;
    }
}
