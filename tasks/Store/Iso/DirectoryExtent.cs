namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The bytes of one directory: its "." and ".." records, one record per child (several for a file
/// split into extents) in ECMA-119 order, and the continuation blocks that follow it.
/// </summary>
internal static class DirectoryExtent
{
    /// <param name="syntheticTime">Time for folders that have no source (the volume creation time).</param>
    /// <remarks>
    /// Layout calls this before addresses are known, only to learn the sizes: they do not depend on
    /// the addresses, so one code path gives both the measure and the final bytes.
    /// </remarks>
    public static (byte[] Extent, ContinuationSpace Continuations) Build(IsoEntry directory, long extentLimit, long syntheticTime)
    {
        var continuations = new ContinuationSpace(directory.Lba + directory.DirectorySectors);
        var records = new List<byte[]>
        {
            Record(DirectoryRecord.Self, directory, RecordRole.Self, directory.Lba, Size(directory), DirectoryRecord.DirectoryFlag),
            Record(DirectoryRecord.Parent, directory.Parent ?? directory, RecordRole.Parent,
                (directory.Parent ?? directory).Lba, Size(directory.Parent ?? directory), DirectoryRecord.DirectoryFlag),
        };
        foreach (var child in SortedChildren(directory))
        {
            var identifier = System.Text.Encoding.ASCII.GetBytes(child.Identifier);
            foreach (var (lba, length, flags) in Extents(child, extentLimit))
                records.Add(Record(identifier, child, RecordRole.Child, lba, length, flags));
        }
        return (Place(records), continuations);

        byte[] Record(byte[] identifier, IsoEntry entry, RecordRole role, uint lba, uint length, byte flags)
        {
            var systemUse = SystemUsePacker.Pack(RockRidgeFields.For(entry, role, syntheticTime),
                DirectoryRecord.SystemUseCapacity(identifier.Length), continuations);
            return DirectoryRecord.Encode(identifier, lba, length, RockRidgeFields.ModificationTime(entry, syntheticTime), flags, systemUse);
        }
    }

    public static IEnumerable<IsoEntry> SortedChildren(IsoEntry directory) =>
        directory.Children.Values.OrderBy(c => c.Identifier, IdentifierOrder.Instance);

    private static uint Size(IsoEntry directory) => directory.DirectorySectors * (uint)IsoBytes.BlockSize;

    /// <summary>
    /// A file's extents: one, or for files beyond <paramref name="limit"/> several consecutive ones, all but
    /// the last flagged multi-extent (ISO 9660 level 3). Empty files and links point at block 0 with no data.
    /// </summary>
    public static IEnumerable<(uint Lba, uint Length, byte Flags)> Extents(IsoEntry child, long limit)
    {
        if (child.IsDirectory)
        {
            yield return (child.Lba, Size(child), DirectoryRecord.DirectoryFlag);
            yield break;
        }
        if (child.ReusesExtents && child.Existing is { Count: > 0 } existing)
        {
            for (var i = 0; i < existing.Count; i++)
                yield return (existing[i].Lba, existing[i].Length, i < existing.Count - 1 ? DirectoryRecord.MultiExtentFlag : (byte)0);
            yield break;
        }
        var size = child.Kind == IsoEntryKind.File && !child.ReusesExtents ? child.Size : 0;
        if (size == 0)
        {
            yield return (0, 0, 0);
            yield break;
        }
        for (long offset = 0; offset < size; offset += limit)
        {
            var last = offset + limit >= size;
            var length = last ? size - offset : limit;
            yield return (child.Lba + (uint)(offset / IsoBytes.BlockSize), (uint)length, last ? (byte)0 : DirectoryRecord.MultiExtentFlag);
        }
    }

    /// <summary>Records never cross a block boundary (ECMA-119 6.8.1.1): the rest of a block stays zero.</summary>
    private static byte[] Place(List<byte[]> records)
    {
        var offsets = new int[records.Count];
        var position = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var inBlock = position % IsoBytes.BlockSize;
            if (inBlock + records[i].Length > IsoBytes.BlockSize) position += IsoBytes.BlockSize - inBlock;
            offsets[i] = position;
            position += records[i].Length;
        }
        var extent = new byte[IsoBytes.Blocks(position) * IsoBytes.BlockSize];
        for (var i = 0; i < records.Count; i++) records[i].CopyTo(extent, offsets[i]);
        return extent;
    }
}
