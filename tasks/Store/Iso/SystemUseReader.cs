using System.Buffers.Binary;
using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>The Rock Ridge facts of one directory record, as far as its System Use entries state them.</summary>
internal sealed class RockRidgeInfo
{
    public List<byte>? Name;
    public uint? Mode, Links, Uid, Gid;
    public long? Mtime, Ctime;
    public StringBuilder? LinkTarget;
    public bool LinkComponentOpen; // the last SL component continues in the next entry
    public bool Relocated; // RE: the real place of this directory is elsewhere; skip this record
    public uint? ChildLink; // CL: this directory's contents live at that block
    public bool Compressed; // ZF: zisofs data, which a new session could not describe again
    public int SkipBytes; // SP: bytes to skip at the start of every System Use area
}

/// <summary>
/// Parses SUSP 1.12 / Rock Ridge entries (SP, CE, NM, PX, TF, SL, RE, CL, ZF; others ignored), following
/// continuation areas. The inverse of what <see cref="RockRidgeFields"/> writes, and tolerant of other writers.
/// </summary>
internal static class SystemUseReader
{
    private const int MaxContinuations = 64; // a loop of CE entries must not hang the reader

    public static RockRidgeInfo Read(ReadOnlySpan<byte> area, Stream medium, int skipBytes)
    {
        var info = new RockRidgeInfo();
        var current = area.Length > skipBytes ? area[skipBytes..].ToArray() : [];
        for (var hops = 0; current.Length > 0 && hops <= MaxContinuations; hops++)
        {
            var next = Parse(current, info);
            if (next is not { } ce) break;
            var block = MediumBlocks.Read(medium, ce.Block, IsoBytes.BlockSize * (int)IsoBytes.Blocks(ce.Offset + ce.Length));
            current = block.AsSpan((int)ce.Offset, (int)ce.Length).ToArray();
        }
        return info;
    }

    /// <summary>Parses one area; returns the continuation area it points to, if any.</summary>
    private static (uint Block, uint Offset, uint Length)? Parse(ReadOnlySpan<byte> area, RockRidgeInfo info)
    {
        (uint, uint, uint)? continuation = null;
        var at = 0;
        while (at + 4 <= area.Length)
        {
            var length = area[at + 2];
            if (length < 4 || at + length > area.Length) break; // padding or damage: nothing more here
            var entry = area.Slice(at, length);
            var signature = Encoding.ASCII.GetString(entry[..2]);
            switch (signature)
            {
                case "SP" when length >= 7: info.SkipBytes = entry[6]; break;
                case "CE" when length >= 28:
                    continuation = (Le32(entry[4..]), Le32(entry[12..]), Le32(entry[20..]));
                    break;
                case "NM" when length >= 5:
                    if ((entry[4] & 0x06) == 0) (info.Name ??= []).AddRange(entry[5..].ToArray());
                    break;
                case "PX" when length >= 36:
                    info.Mode = Le32(entry[4..]);
                    info.Links = Le32(entry[12..]);
                    info.Uid = Le32(entry[20..]);
                    info.Gid = Le32(entry[28..]);
                    break;
                case "TF" when length >= 5: ReadTimes(entry, info); break;
                case "SL" when length >= 5: ReadLink(entry[5..], info); break;
                case "RE": info.Relocated = true; break;
                case "CL" when length >= 12: info.ChildLink = Le32(entry[4..]); break;
                case "ZF": info.Compressed = true; break;
                case "ST": return continuation;
            }
            at += length;
        }
        return continuation;
    }

    private static void ReadTimes(ReadOnlySpan<byte> entry, RockRidgeInfo info)
    {
        var flags = entry[4];
        var size = (flags & 0x80) != 0 ? 17 : 7;
        var at = 5;
        for (var bit = 0; bit < 7; bit++)
        {
            if ((flags & (1 << bit)) == 0) continue;
            if (at + size > entry.Length) return;
            var time = size == 7 ? IsoDateReader.Short(entry.Slice(at, 7)) : IsoDateReader.Long(entry.Slice(at, 17));
            if (bit == 1) info.Mtime = time;
            if (bit == 3) info.Ctime = time;
            at += size;
        }
    }

    /// <summary>
    /// SL components: "/" , "." and ".." are flags; a component flagged CONTINUE goes on in the next one without
    /// a '/' between them, which also covers components split across SL entries.
    /// </summary>
    private static void ReadLink(ReadOnlySpan<byte> components, RockRidgeInfo info)
    {
        var target = info.LinkTarget ??= new StringBuilder();
        var at = 0;
        while (at + 2 <= components.Length)
        {
            var flags = components[at];
            var length = components[at + 1];
            if (at + 2 + length > components.Length) break;
            if (target.Length > 0 && !info.LinkComponentOpen && target[^1] != '/') target.Append('/');
            if ((flags & 0x08) != 0) target.Append('/');
            else if ((flags & 0x02) != 0) target.Append('.');
            else if ((flags & 0x04) != 0) target.Append("..");
            else target.Append(Encoding.UTF8.GetString(components.Slice(at + 2, length)));
            info.LinkComponentOpen = (flags & 0x01) != 0;
            at += 2 + length;
        }
    }

    private static uint Le32(ReadOnlySpan<byte> field) => BinaryPrimitives.ReadUInt32LittleEndian(field);
}
