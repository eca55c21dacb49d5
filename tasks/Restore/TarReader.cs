using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

internal enum TarMemberKind { File, HardLink, Symlink, Directory, Other }

/// <summary>One member's header, as read (names are not checked here; <see cref="MemberPath"/> does that).</summary>
internal sealed record TarMember(string Name, TarMemberKind Kind, long Size, uint Mode, uint Uid, uint Gid,
    string UserName, string GroupName, long Mtime, string LinkName);

/// <summary>
/// Reads a tar stream one member at a time: ustar and GNU headers (Collect's and Cedar's), GNU long names
/// and long link targets ('L', 'K'), POSIX pax headers ('x', 'g': path, linkpath, size, mtime), base-256
/// numbers. The content of the current member is <see cref="Content"/>; unread content is skipped.
/// </summary>
internal sealed class TarReader
{
    private const int Block = 512;
    private readonly Stream _input;
    private readonly byte[] _header = new byte[Block];
    private long _remaining; // content bytes of the current member not yet read
    private long _padding;
    private MemberContent? _content;

    public TarReader(Stream input) => _input = input;

    public Stream Content => _content ?? throw new InvalidOperationException("No current member.");

    /// <summary>The next member, or null at the end of the archive.</summary>
    /// <exception cref="InvalidDataException">A damaged header or a truncated archive.</exception>
    public TarMember? Next()
    {
        Skip(_remaining + _padding);
        _remaining = _padding = 0;
        string? longName = null, longLink = null;
        Dictionary<string, string>? pax = null;
        while (true)
        {
            if (!ReadBlock(_header)) return null;
            if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0) return null; // the end-of-archive blocks
            if (!ChecksumOk(_header)) throw new InvalidDataException("A tar header's checksum does not match: the archive is damaged.");
            var type = _header[156];
            var size = Number(_header.AsSpan(124, 12));
            if (size < 0) throw new InvalidDataException("A tar header has a negative size.");
            if (type is (byte)'L' or (byte)'K' or (byte)'x' or (byte)'g')
            {
                if (size > 16 << 20) throw new InvalidDataException("A tar extension header is implausibly large.");
                var data = new byte[size];
                ReadExactly(data);
                Skip(Pad(size));
                if (type == (byte)'L') longName = Name(data);
                else if (type == (byte)'K') longLink = Name(data);
                else if (type == (byte)'x') pax = ParsePax(data);
                continue;
            }

            var name = longName ?? UstarName(_header);
            var link = longLink ?? Name(_header.AsSpan(157, 100));
            var mtime = Number(_header.AsSpan(136, 12));
            if (pax != null)
            {
                if (pax.TryGetValue("path", out var p)) name = p;
                if (pax.TryGetValue("linkpath", out var l)) link = l;
                if (pax.TryGetValue("size", out var s) && long.TryParse(s, out var ps)) size = ps;
                if (pax.TryGetValue("mtime", out var m) && double.TryParse(m, System.Globalization.NumberStyles.Float,
                        System.Globalization.CultureInfo.InvariantCulture, out var pm)) mtime = (long)Math.Floor(pm);
            }
            var kind = type switch
            {
                (byte)'0' or 0 or (byte)'7' => TarMemberKind.File,
                (byte)'1' => TarMemberKind.HardLink,
                (byte)'2' => TarMemberKind.Symlink,
                (byte)'5' => TarMemberKind.Directory,
                _ => TarMemberKind.Other,
            };
            if (kind is TarMemberKind.HardLink or TarMemberKind.Symlink or TarMemberKind.Directory) size = kind == TarMemberKind.HardLink ? 0 : size;
            if (kind == TarMemberKind.File && name.EndsWith('/')) kind = TarMemberKind.Directory;
            _remaining = size;
            _padding = Pad(size);
            _content = new MemberContent(this);
            return new TarMember(name, kind, size, (uint)(Number(_header.AsSpan(100, 8)) & 0xFFF),
                (uint)Number(_header.AsSpan(108, 8)), (uint)Number(_header.AsSpan(116, 8)),
                CString(_header.AsSpan(265, 32)), CString(_header.AsSpan(297, 32)), mtime, link);
        }
    }

    private static long Pad(long size) => (Block - size % Block) % Block;

    private static string UstarName(byte[] h)
    {
        var name = Name(h.AsSpan(0, 100));
        // POSIX ustar keeps a prefix at 345; GNU headers ("ustar  \0") use that area for other things.
        var posix = h.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        if (posix && h[345] != 0) name = Name(h.AsSpan(345, 155)) + "/" + name;
        return name;
    }

    /// <summary>A file name field: its exact bytes up to the first NUL, as a <see cref="PosixPath"/> name (not necessarily UTF-8).</summary>
    private static string Name(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return PosixPath.Decode(end < 0 ? field : field[..end]);
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static long Number(ReadOnlySpan<byte> field)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            // base-256: big-endian two's complement with the top bit as the marker.
            long v = (field[0] & 0x40) != 0 ? -1 : 0;
            v = (v << 6) | (long)(field[0] & 0x3F);
            for (var i = 1; i < field.Length; i++) v = (v << 8) | field[i];
            return v;
        }
        long n = 0;
        foreach (var b in field)
        {
            if (b is 0 or (byte)' ')
            {
                if (n != 0) break;
                continue;
            }
            if (b < '0' || b > '7') throw new InvalidDataException("A tar header holds a malformed number.");
            n = n * 8 + (b - '0');
        }
        return n;
    }

    private static bool ChecksumOk(byte[] h)
    {
        var recorded = Number(h.AsSpan(148, 8));
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : h[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        return recorded == unsigned || recorded == signed;
    }

    private static Dictionary<string, string> ParsePax(byte[] data)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var at = 0;
        while (at < data.Length)
        {
            var space = Array.IndexOf(data, (byte)' ', at);
            if (space < 0) break;
            if (!int.TryParse(Encoding.ASCII.GetString(data, at, space - at), out var length) || length <= 0 || at + length > data.Length
                || space + 1 > at + length - 1) break;
            // Values are UTF-8, or any bytes after hdrcharset=BINARY (GNU tar's choice for names that are not UTF-8).
            var record = data.AsSpan(space + 1, at + length - space - 2);
            var eq = record.IndexOf((byte)'=');
            if (eq > 0) result[Encoding.UTF8.GetString(record[..eq])] = PosixPath.Decode(record[(eq + 1)..]);
            at += length;
        }
        return result;
    }

    private bool ReadBlock(byte[] block)
    {
        var got = 0;
        while (got < block.Length)
        {
            var n = _input.Read(block, got, block.Length - got);
            if (n == 0)
            {
                if (got == 0) return false;
                throw new InvalidDataException("The archive ends in the middle of a header.");
            }
            got += n;
        }
        return true;
    }

    private void ReadExactly(byte[] data)
    {
        var got = 0;
        while (got < data.Length)
        {
            var n = _input.Read(data, got, data.Length - got);
            if (n == 0) throw new InvalidDataException("The archive ends in the middle of a member.");
            got += n;
        }
    }

    private readonly byte[] _skip = new byte[1 << 16];

    private void Skip(long count)
    {
        while (count > 0)
        {
            var n = _input.Read(_skip, 0, (int)Math.Min(_skip.Length, count));
            if (n == 0) throw new InvalidDataException("The archive ends in the middle of a member.");
            count -= n;
        }
    }

    private sealed class MemberContent : ReadOnlyStream
    {
        private readonly TarReader _reader;
        public MemberContent(TarReader reader) => _reader = reader;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reader._content != this || _reader._remaining == 0) return 0;
            var n = _reader._input.Read(buffer, offset, (int)Math.Min(count, _reader._remaining));
            if (n == 0) throw new InvalidDataException("The archive ends in the middle of a member.");
            _reader._remaining -= n;
            return n;
        }

        // Straight into the caller's memory (Stream's default would read into a pooled array and copy).
        public override int Read(Span<byte> buffer)
        {
            if (_reader._content != this || _reader._remaining == 0 || buffer.Length == 0) return 0;
            var n = _reader._input.Read(buffer[..(int)Math.Min(buffer.Length, _reader._remaining)]);
            if (n == 0) throw new InvalidDataException("The archive ends in the middle of a member.");
            _reader._remaining -= n;
            return n;
        }
    }
}
