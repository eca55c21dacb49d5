using System.Text;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One 512-byte GNU tar header block, laid out byte for byte as Python's tarfile writes it with
/// GNU_FORMAT (the writer Cedar Backup uses), which matches GNU tar's own headers for regular files
/// and symlinks: ustar field layout, magic "ustar  \0", empty device fields, checksum "%06o\0 ".
/// </summary>
internal static class TarHeader
{
    public const int BlockSize = 512;

    // Name and link fields are 100 bytes. Like GNU tar, a name that needs all 100 (no room for a NUL)
    // already goes to a long-name entry, so no reader has to cope with an unterminated field.
    public const int NameFieldSize = 100;

    public const byte Regular = (byte)'0';
    public const byte HardLink = (byte)'1';
    public const byte Symlink = (byte)'2';
    public const byte GnuLongName = (byte)'L';
    public const byte GnuLongLink = (byte)'K';

    /// <summary>The pseudo-name GNU tar gives the entries that carry a long name or link target.</summary>
    public static ReadOnlySpan<byte> LongLinkName => "././@LongLink"u8;

    private static ReadOnlySpan<byte> GnuMagic => "ustar  \0"u8;

    /// <summary>The fields of one header; strings are already UTF-8 encoded.</summary>
    public readonly ref struct Fields
    {
        public ReadOnlySpan<byte> Name { get; init; }
        public long Mode { get; init; }
        public long Uid { get; init; }
        public long Gid { get; init; }
        public long Size { get; init; }
        public long Mtime { get; init; }
        public byte Type { get; init; }
        public ReadOnlySpan<byte> LinkName { get; init; }
        public ReadOnlySpan<byte> UserName { get; init; }
        public ReadOnlySpan<byte> GroupName { get; init; }
    }

    /// <summary>Writes the header into <paramref name="block"/> (512 bytes). Long strings are cut to their field.</summary>
    public static void Write(Span<byte> block, in Fields f)
    {
        block = block[..BlockSize];
        block.Clear();
        Text(block.Slice(0, 100), f.Name);
        TarNumber.Write(block.Slice(100, 8), f.Mode & 0xFFF);
        TarNumber.Write(block.Slice(108, 8), f.Uid);
        TarNumber.Write(block.Slice(116, 8), f.Gid);
        TarNumber.Write(block.Slice(124, 12), f.Size);
        TarNumber.Write(block.Slice(136, 12), f.Mtime);
        block[156] = f.Type;
        Text(block.Slice(157, 100), f.LinkName);
        GnuMagic.CopyTo(block.Slice(257, 8));
        Text(block.Slice(265, 32), f.UserName);
        Text(block.Slice(297, 32), f.GroupName);
        // Device numbers (329..344) stay empty: only character and block devices carry them.

        // The checksum is the byte sum of the block with its own field read as eight spaces.
        block.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in block) sum += b;
        TarNumber.Write(block.Slice(148, 7), sum);
    }

    /// <summary>
    /// The size of the data of a GNU long-name ('L') or long-link ('K') entry: the string and a NUL,
    /// or zero when the string fits its 100-byte field and no such entry is needed.
    /// </summary>
    public static int LongEntrySize(ReadOnlySpan<byte> value) =>
        value.Length >= NameFieldSize ? value.Length + 1 : 0;

    /// <summary>
    /// The header of a long-name or long-link entry. Python's tarfile leaves mode, ids, owner and time
    /// empty here (GNU tar puts 0644 and root); readers use only the type and size.
    /// </summary>
    public static void WriteLongEntryHeader(Span<byte> block, byte type, int dataSize) =>
        Write(block, new Fields { Name = LongLinkName, Type = type, Size = dataSize });

    /// <summary>The exact bytes of a name or link target (escaped non-UTF-8 bytes restored, see PosixPath).</summary>
    public static byte[] Bytes(string s) => Infrastructure.PosixPath.Encode(s);

    private static void Text(Span<byte> field, ReadOnlySpan<byte> value) =>
        value[..Math.Min(value.Length, field.Length)].CopyTo(field);
}
