namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Where everything goes on the image. The order is the one streaming needs: system area, volume
/// descriptors, path tables, then each directory followed by its continuation blocks, then all file
/// data. Every address is known before the first byte is written, which gives the exact image size.
/// </summary>
internal sealed class IsoLayout
{
    public const uint PrimaryDescriptorBlock = 16; // blocks 0-15 are the system area
    private const uint FirstPathTableBlock = PrimaryDescriptorBlock + 2; // after the terminator

    private IsoLayout(List<IsoEntry> directories, List<IsoEntry> files)
    {
        Directories = directories;
        Files = files;
    }

    /// <summary>Directories in path table order; their number is their position plus one.</summary>
    public IReadOnlyList<IsoEntry> Directories { get; }

    /// <summary>Regular files in the order of their data.</summary>
    public IReadOnlyList<IsoEntry> Files { get; }

    public int PathTableSize { get; private set; }
    public uint LPathTableBlock => FirstPathTableBlock;
    public uint MPathTableBlock => FirstPathTableBlock + PathTableBlocks;
    public uint PathTableBlocks => (uint)IsoBytes.Blocks(PathTableSize);
    public uint TotalBlocks { get; private set; }
    public long FileCount { get; private set; }

    public static IsoLayout Compute(IsoEntry root, long extentLimit)
    {
        var directories = NumberDirectories(root);
        var files = new List<IsoEntry>();
        var layout = new IsoLayout(directories, files) { PathTableSize = PathTable.Size(directories) };

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
                if (child.Kind != IsoEntryKind.File) continue;
                files.Add(child);
                child.Lba = child.Size == 0 ? 0 : Checked(next, child);
                next += IsoBytes.Blocks(child.Size);
            }
        layout.TotalBlocks = Checked(next, root);
        return layout;
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
