namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Streams an image in block order, following a computed <see cref="IsoLayout"/>.</summary>
internal static class IsoImageWriter
{
    public static void Write(IsoEntry root, IsoLayout layout, VolumeLabels labels, long extentLimit, ImageOutput output)
    {
        var syntheticTime = labels.CreationTime.ToUnixTimeSeconds();

        output.Zeros(IsoLayout.PrimaryDescriptorBlock * (long)IsoBytes.BlockSize);
        var rootRecord = DirectoryRecord.Encode(DirectoryRecord.Self, root.Lba, root.DirectorySectors * (uint)IsoBytes.BlockSize,
            RockRidgeFields.ModificationTime(root, syntheticTime), DirectoryRecord.DirectoryFlag, []);
        output.Write(VolumeDescriptors.Primary(layout, labels, rootRecord));
        output.Write(VolumeDescriptors.Terminator());

        PathTableAt(layout.LPathTableBlock, PathTable.Build(layout.Directories, bigEndian: false), output);
        PathTableAt(layout.MPathTableBlock, PathTable.Build(layout.Directories, bigEndian: true), output);

        foreach (var directory in layout.Directories)
        {
            ExpectAt(directory.Lba, output, directory);
            var (extent, continuations) = DirectoryExtent.Build(directory, extentLimit, syntheticTime);
            output.Write(extent);
            foreach (var block in continuations.Blocks) output.Write(block);
        }

        foreach (var file in layout.Files)
        {
            if (file.Size > 0) ExpectAt(file.Lba, output, file);
            SourceCopier.Copy(file, output);
        }
        ExpectAt(layout.TotalBlocks, output, root);
        output.Finish();
    }

    private static void PathTableAt(uint block, byte[] table, ImageOutput output)
    {
        ExpectAt(block, output, null);
        output.Write(table);
        output.Zeros(IsoBytes.Blocks(table.Length) * IsoBytes.BlockSize - table.Length);
    }

    /// <summary>A mismatch here is a bug in layout; failing beats writing an image whose addresses are wrong.</summary>
    private static void ExpectAt(uint block, ImageOutput output, IsoEntry? entry)
    {
        if (output.Position != block * (long)IsoBytes.BlockSize)
            throw new InvalidOperationException(
                $"ISO layout error at '{entry?.IsoPath ?? "path table"}': expected block {block}, writing at byte {output.Position}.");
    }
}
