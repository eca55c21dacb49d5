using System.Buffers.Binary;
using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Reads the directory tree of a volume on a medium into <see cref="IsoEntry"/> nodes: real names, modes,
/// owners, times and link targets from Rock Ridge, and for files the extents their data occupies. A new
/// session takes these over unchanged, so every file stored earlier stays visible without being copied.
/// </summary>
internal static class IsoTreeReader
{
    private const int MaxDepth = 256;

    /// <exception cref="InvalidDataException">The tree is damaged or uses something a new session cannot carry over.</exception>
    public static IsoEntry Read(Stream medium, IsoVolume volume)
    {
        var rootExtent = ReadExtent(medium, volume.RootExtent, volume.RootLength);
        var self = Records(rootExtent).FirstOrDefault();
        if (self.Record == null) throw new InvalidDataException("The root directory has no records.");
        var rootInfo = SystemUseReader.Read(SystemUse(self.Record), medium, 0);

        var root = IsoEntry.NewSyntheticDirectory("", null);
        Apply(root, rootInfo, self.Record);
        var visited = new HashSet<uint> { volume.RootExtent };
        ReadChildren(medium, root, rootExtent, rootInfo.SkipBytes, visited, depth: 1);
        return root;
    }

    private static void ReadChildren(Stream medium, IsoEntry directory, byte[] extent, int skip, HashSet<uint> visited, int depth)
    {
        if (depth > MaxDepth) throw new InvalidDataException($"'{directory.IsoPath}' is nested more than {MaxDepth} levels deep.");
        IsoEntry? pendingFile = null; // a multi-extent file still collecting extents
        List<(uint, uint)>? pendingExtents = null;
        foreach (var (record, index) in Records(extent).Select((r, i) => (r.Record, i)))
        {
            if (index < 2) continue; // "." and ".."
            var flags = record[25];
            var lba = Le32(record, 2);
            var length = Le32(record, 10);
            if (pendingFile != null)
            {
                pendingExtents!.Add((lba, length));
                if ((flags & DirectoryRecord.MultiExtentFlag) == 0) Finish(pendingFile, pendingExtents, ref pendingFile);
                continue;
            }

            var info = SystemUseReader.Read(SystemUse(record), medium, skip);
            if (info.Relocated) continue;
            if (info.Compressed)
                throw new InvalidDataException($"'{directory.IsoPath}' holds a zisofs-compressed file, which BackupBuild cannot carry into a new session.");
            var name = info.Name is { Count: > 0 } ? Encoding.UTF8.GetString(info.Name.ToArray()) : PlainName(record, flags);
            var isDirectory = (flags & DirectoryRecord.DirectoryFlag) != 0 || info.ChildLink != null;
            var kind = isDirectory ? IsoEntryKind.Directory
                : info.LinkTarget != null || (info.Mode & 0xF000) == IsoEntry.SymlinkType ? IsoEntryKind.Symlink
                : IsoEntryKind.File;
            if (name is "" or "." or ".." || name.Contains('/') || directory.Children.ContainsKey(name))
                throw new InvalidDataException($"'{directory.IsoPath}' holds an entry with an unusable or repeated name '{name}'.");

            var entry = IsoEntry.New(kind, name, directory);
            Apply(entry, info, record);
            directory.Children.Add(name, entry);
            if (kind == IsoEntryKind.Symlink) entry.LinkTarget = info.LinkTarget?.ToString() ?? "";
            if (kind == IsoEntryKind.File)
            {
                pendingFile = entry;
                pendingExtents = [(lba, length)];
                if ((flags & DirectoryRecord.MultiExtentFlag) == 0) Finish(entry, pendingExtents, ref pendingFile);
            }
            if (kind == IsoEntryKind.Directory)
            {
                var at = info.ChildLink ?? lba;
                var childExtent = ReadExtent(medium, at, info.ChildLink != null ? DirectoryLengthAt(medium, at) : length);
                if (!visited.Add(at)) throw new InvalidDataException($"'{entry.IsoPath}' loops back to a directory above it.");
                ReadChildren(medium, entry, childExtent, skip, visited, depth + 1);
            }
        }
        if (pendingFile != null) throw new InvalidDataException($"'{pendingFile.IsoPath}' has an unfinished chain of extents.");
    }

    private static void Finish(IsoEntry file, List<(uint Lba, uint Length)> extents, ref IsoEntry? pending)
    {
        var nonEmpty = extents.Where(e => e.Length > 0).ToList();
        file.Existing = nonEmpty;
        file.Size = nonEmpty.Sum(e => (long)e.Length);
        pending = null;
    }

    /// <summary>Attributes from Rock Ridge, or plain ISO defaults where an entry is missing.</summary>
    private static void Apply(IsoEntry entry, RockRidgeInfo info, byte[] record)
    {
        var type = entry.Kind switch
        {
            IsoEntryKind.Directory => IsoEntry.DirectoryType,
            IsoEntryKind.Symlink => IsoEntry.SymlinkType,
            _ => IsoEntry.RegularType,
        };
        entry.Mode = info.Mode is { } mode ? (mode & 0xF000) == type ? mode : type | (mode & 0xFFF) : type | (entry.IsDirectory ? 0x16Du : 0x124u);
        entry.Uid = info.Uid ?? 0;
        entry.Gid = info.Gid ?? 0;
        var recorded = IsoDateReader.Short(record.AsSpan(18, 7)) ?? 0;
        entry.MtimeSeconds = info.Mtime ?? recorded;
        entry.CtimeSeconds = info.Ctime ?? entry.MtimeSeconds;
        entry.Synthetic = false;
    }

    /// <summary>A name without Rock Ridge: the ISO identifier without its version and a trailing dot.</summary>
    private static string PlainName(byte[] record, byte flags)
    {
        var id = Encoding.ASCII.GetString(record, 33, record[32]);
        if ((flags & DirectoryRecord.DirectoryFlag) != 0) return id;
        var semicolon = id.LastIndexOf(';');
        if (semicolon >= 0) id = id[..semicolon];
        return id.EndsWith('.') ? id[..^1] : id;
    }

    private static ReadOnlySpan<byte> SystemUse(byte[] record)
    {
        var offset = DirectoryRecord.SystemUseOffset(record[32]);
        return offset < record.Length ? record.AsSpan(offset) : [];
    }

    /// <summary>The records of a directory extent; a zero length byte means the rest of that block is unused.</summary>
    private static IEnumerable<(byte[] Record, int Offset)> Records(byte[] extent)
    {
        var at = 0;
        while (at < extent.Length)
        {
            var length = extent[at];
            if (length == 0)
            {
                at = (at / IsoBytes.BlockSize + 1) * IsoBytes.BlockSize;
                continue;
            }
            if (length < DirectoryRecord.FixedLength + 1 || at + length > extent.Length || extent[at + 32] + DirectoryRecord.FixedLength > length)
                throw new InvalidDataException($"A directory record at byte {at} of a directory is damaged.");
            yield return (extent.AsSpan(at, length).ToArray(), at);
            at += length;
        }
    }

    private static byte[] ReadExtent(Stream medium, uint block, uint length)
    {
        if (length == 0 || length > 64u << 20) throw new InvalidDataException($"A directory at block {block} claims {length} bytes.");
        return MediumBlocks.Read(medium, block, (int)(IsoBytes.Blocks(length) * IsoBytes.BlockSize));
    }

    /// <summary>A relocated directory's size, from its own "." record.</summary>
    private static uint DirectoryLengthAt(Stream medium, uint block) => Le32(MediumBlocks.Read(medium, block, IsoBytes.BlockSize), 10);

    private static uint Le32(byte[] bytes, int at) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
}
