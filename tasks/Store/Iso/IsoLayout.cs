namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Where everything goes in one session. The order is the one streaming needs: system area, volume
/// descriptors, path tables, then each directory followed by its continuation blocks, then the data of
/// the files new in this session. Every address is known before the first byte is written, which gives
/// the exact size. Addresses are absolute on the medium: a session appended at block N starts there.
/// </summary>
internal sealed class IsoLayout
{
    public const uint SystemAreaBlocks = 16; // then the primary descriptor and the terminator

    private IsoLayout(uint sessionStart, List<IsoEntry> directories, List<IsoEntry> files)
    {
        SessionStart = sessionStart;
        Directories = directories;
        Files = files;
    }

    /// <summary>The first block of the session on the medium: 0 for a plain image.</summary>
    public uint SessionStart { get; }

    public uint PrimaryDescriptorBlock => SessionStart + SystemAreaBlocks;
    private uint FirstPathTableBlock => PrimaryDescriptorBlock + 2; // after the terminator

    /// <summary>Directories in path table order; their number is their position plus one.</summary>
    public IReadOnlyList<IsoEntry> Directories { get; }

    /// <summary>Regular files whose data this session writes, in the order of their data.</summary>
    public IReadOnlyList<IsoEntry> Files { get; }

    public int PathTableSize { get; private set; }
    public uint LPathTableBlock => FirstPathTableBlock;
    public uint MPathTableBlock => FirstPathTableBlock + PathTableBlocks;
    public uint PathTableBlocks => (uint)IsoBytes.Blocks(PathTableSize);
    /// <summary>The block after the session's last one (absolute).</summary>
    public uint TotalBlocks { get; private set; }

    public uint SessionBlocks => TotalBlocks - SessionStart;
    public long FileCount { get; private set; }

    public static IsoLayout Compute(IsoEntry root, long extentLimit, uint sessionStart = 0)
    {
        var directories = NumberDirectories(root);
        MarkCopies(directories);
        var files = new List<IsoEntry>();
        var layout = new IsoLayout(sessionStart, directories, files) { PathTableSize = PathTable.Size(directories) };

        long next = layout.MPathTableBlock + layout.PathTableBlocks;
        foreach (var directory in directories)
        {
            var (extent, continuations) = DirectoryExtent.Build(directory, extentLimit, syntheticTime: 0);
            directory.Lba = Checked(next, directory);
            directory.DirectorySectors = (uint)(extent.Length / IsoBytes.BlockSize);
            next += directory.DirectorySectors + continuations.BlockCount;
        }
        foreach (var directory in directories)
            foreach (var child in DirectoryExtent.SortedChildren(directory))
            {
                if (child.IsDirectory) continue;
                layout.FileCount++;
                // Files of earlier sessions keep their extents: only the directories are written again.
                if (child.Kind != IsoEntryKind.File || child.ReusesExtents) continue;
                files.Add(child);
                child.Lba = child.Size == 0 ? 0 : Checked(next, child);
                next += IsoBytes.Blocks(child.Size);
            }
        layout.TotalBlocks = Checked(next, root);
        return layout;
    }

    /// <summary>
    /// Files of earlier sessions whose System Use entries do not fit their record (long names) get their data
    /// written again after their continuation area (see <see cref="IsoEntry.CopyExisting"/>). Decided before
    /// any directory is measured, because it changes the number of records of a multi-extent file.
    /// </summary>
    private static void MarkCopies(List<IsoEntry> directories)
    {
        foreach (var directory in directories)
            foreach (var child in directory.Children.Values)
            {
                if (child.Kind != IsoEntryKind.File || child.Existing is not { Count: > 0 }) continue;
                var systemUse = RockRidgeFields.For(child, RecordRole.Child, syntheticTime: 0).Sum(e => e.Length);
                child.CopyExisting = systemUse > DirectoryRecord.SystemUseCapacity(child.Identifier.Length);
            }
    }

    /// <summary>Breadth first with children in identifier order: exactly the path table order (9.4.4).</summary>
    private static List<IsoEntry> NumberDirectories(IsoEntry root)
    {
        var directories = new List<IsoEntry>();
        var queue = new Queue<IsoEntry>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var directory = queue.Dequeue();
            directories.Add(directory);
            if (directories.Count > ushort.MaxValue)
                throw new NotSupportedException($"An ISO 9660 image can hold at most {ushort.MaxValue} directories (its path table numbers them in 16 bits).");
            directory.DirectoryNumber = (ushort)directories.Count;
            IsoIdentifiers.Assign(directory);
            foreach (var child in DirectoryExtent.SortedChildren(directory))
                if (child.IsDirectory) queue.Enqueue(child);
        }
        return directories;
    }

    private static uint Checked(long block, IsoEntry at) =>
        block <= uint.MaxValue
            ? (uint)block
            : throw new NotSupportedException($"The image would be larger than ISO 9660 allows (8 TiB), at '{at.IsoPath}'.");
}
