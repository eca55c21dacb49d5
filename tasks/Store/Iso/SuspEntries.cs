using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The fixed-shape System Use entries: SUSP 1.12 SP, CE and ER, and Rock Ridge 1.09 RR, PX and TF.
/// Every entry starts with a two-letter signature, its total length and version 1.
/// </summary>
internal static class SuspEntries
{
    public const int ContinuationLength = 28;

    // Rock Ridge 1.09 (RRIP_1991A) names its extension with these texts in the ER entry.
    private const string RripId = "RRIP_1991A";
    private const string RripDescriptor = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    private const string RripSource =
        "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

    // RR flags: which Rock Ridge entries this file has (RRIP 1.09 "RR"); Linux stops reading
    // entries it was not told about, so the flags must be exact.
    public const byte HasPX = 0x01;
    public const byte HasSL = 0x04;
    public const byte HasNM = 0x08;
    public const byte HasTF = 0x80;

    public static byte[] Header(string signature, int length)
    {
        var entry = new byte[length];
        entry[0] = (byte)signature[0];
        entry[1] = (byte)signature[1];
        entry[2] = (byte)length;
        entry[3] = 1;
        return entry;
    }

    /// <summary>SP: marks the volume as using SUSP; first entry of the root's "." record, skipping no bytes.</summary>
    public static byte[] SP()
    {
        var entry = Header("SP", 7);
        entry[4] = 0xBE;
        entry[5] = 0xEF;
        return entry;
    }

    public static byte[] ER()
    {
        var id = Encoding.ASCII.GetBytes(RripId);
        var descriptor = Encoding.ASCII.GetBytes(RripDescriptor);
        var source = Encoding.ASCII.GetBytes(RripSource);
        var entry = Header("ER", 8 + id.Length + descriptor.Length + source.Length);
        entry[4] = (byte)id.Length;
        entry[5] = (byte)descriptor.Length;
        entry[6] = (byte)source.Length;
        entry[7] = 1;
        id.CopyTo(entry, 8);
        descriptor.CopyTo(entry, 8 + id.Length);
        source.CopyTo(entry, 8 + id.Length + descriptor.Length);
        return entry;
    }

    public static void WriteCE(Span<byte> target, uint block, int offset, int length)
    {
        Header("CE", ContinuationLength).CopyTo(target);
        IsoBytes.Both32(target[4..], block);
        IsoBytes.Both32(target[12..], (uint)offset);
        IsoBytes.Both32(target[20..], (uint)length);
    }

    public static byte[] RR(byte flags)
    {
        var entry = Header("RR", 5);
        entry[4] = flags;
        return entry;
    }

    /// <summary>PX in its RRIP 1.09 form: mode, links, uid, gid (no serial number, which 1.12 added).</summary>
    public static byte[] PX(uint mode, uint links, uint uid, uint gid)
    {
        var entry = Header("PX", 36);
        IsoBytes.Both32(entry.AsSpan(4), mode);
        IsoBytes.Both32(entry.AsSpan(12), links);
        IsoBytes.Both32(entry.AsSpan(20), uid);
        IsoBytes.Both32(entry.AsSpan(28), gid);
        return entry;
    }

    /// <summary>TF with modification, access and attribute-change times in the 7-byte format.</summary>
    public static byte[] TF(long modified, long accessed, long attributesChanged)
    {
        const byte Modify = 0x02, Access = 0x04, Attributes = 0x08;
        var entry = Header("TF", 5 + 3 * 7);
        entry[4] = Modify | Access | Attributes;
        IsoDates.Short(entry.AsSpan(5), modified);
        IsoDates.Short(entry.AsSpan(12), accessed);
        IsoDates.Short(entry.AsSpan(19), attributesChanged);
        return entry;
    }
}
