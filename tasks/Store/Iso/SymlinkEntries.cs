using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Rock Ridge SL: a symbolic link target as path components (RRIP 1.09 4.1.3). "/", "." and ".." are
/// flags; text longer than an entry allows is split with the component CONTINUE flag; a target that
/// does not fit one SL entry goes on in the next, which the entry's CONTINUE flag announces.
/// </summary>
/// <remarks>
/// Readers disagree on what an SL entry boundary between two whole components means: Linux and
/// libisofs put a '/' there, libarchive (bsdtar) does not. So an entry never ends after a whole
/// component: it ends inside a split component, or with an empty component flagged CONTINUE, which
/// both readings turn into exactly one '/'.
/// </remarks>
internal static class SymlinkEntries
{
    private const int Area = 255 - 5;
    private const int MaxText = Area - 2;
    private const int Bridge = 2; // the empty CONTINUE component

    private const byte ComponentContinues = 0x01;
    private const byte Current = 0x02;
    private const byte Parent = 0x04;
    private const byte Root = 0x08;
    private const byte EntryContinues = 0x01;

    public static List<byte[]> For(string target)
    {
        var entries = new List<byte[]>();
        var area = new List<byte>(Area);
        var components = Components(target);
        for (var i = 0; i < components.Count; i++)
        {
            var (flags, text) = components[i];
            // Room that must stay free after a whole component, for the bridge, unless nothing follows.
            var reserve = i == components.Count - 1 ? 0 : Bridge;
            var offset = 0;
            while (true)
            {
                var rest = text.Length - offset;
                var room = Area - area.Count;
                if (2 + rest <= room - reserve && rest <= MaxText)
                {
                    Add(area, flags, text.AsSpan(offset));
                    break;
                }
                var piece = Math.Min(Math.Min(rest, MaxText), room - 2);
                if (piece == rest) piece--; // it would fit whole but leave no room to end the entry properly
                if (piece >= 1)
                {
                    Add(area, ComponentContinues, text.AsSpan(offset, piece));
                    offset += piece;
                }
                else
                {
                    area.Add(ComponentContinues);
                    area.Add(0);
                }
                entries.Add(Entry(area, EntryContinues));
                area.Clear();
            }
        }
        entries.Add(Entry(area, 0));
        return entries;
    }

    private static void Add(List<byte> area, byte flags, ReadOnlySpan<byte> text)
    {
        area.Add(flags);
        area.Add((byte)text.Length);
        foreach (var b in text) area.Add(b);
    }

    private static byte[] Entry(List<byte> area, byte flags)
    {
        var entry = SuspEntries.Header("SL", 5 + area.Count);
        entry[4] = flags;
        area.CopyTo(entry, 5);
        return entry;
    }

    /// <summary>Flags and text of each component; "." and ".." and the leading "/" have no text.</summary>
    private static List<(byte Flags, byte[] Text)> Components(string target)
    {
        var components = new List<(byte, byte[])>();
        if (target.StartsWith('/')) components.Add((Root, []));
        // Repeated and trailing slashes carry no meaning for the link and have no encoding.
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
            components.Add(part switch
            {
                "." => (Current, []),
                ".." => (Parent, []),
                _ => (0, Encoding.UTF8.GetBytes(part)),
            });
        return components;
    }
}
