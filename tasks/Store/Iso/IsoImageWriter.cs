namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Streams a session in block order, following a computed <see cref="IsoLayout"/>.</summary>
internal static class IsoImageWriter
{
    /// <summary>Writes the session from its first block (its system area) to its last.</summary>
    public static void Write(IsoEntry root, IsoLayout layout, VolumeLabels labels, long extentLimit, ImageOutput output)
    {
        var syntheticTime = labels.CreationTime.ToUnixTimeSeconds();

        output.Zeros(IsoLayout.SystemAreaBlocks * (long)IsoBytes.BlockSize);
        // libisoburn finds the sessions of an overwritable medium by their own descriptors, whose volume
        // size counts the session's blocks only; the medium's head (HeadDescriptors) counts from block 0.
        output.Write(VolumeDescriptors.Primary(layout, labels, RootRecord(root, syntheticTime), layout.SessionBlocks));
        output.Write(VolumeDescriptors.Terminator());

        PathTableAt(layout, layout.LPathTableBlock, PathTable.Build(layout.Directories, bigEndian: false), output);
        PathTableAt(layout, layout.MPathTableBlock, PathTable.Build(layout.Directories, bigEndian: true), output);

        foreach (var directory in layout.Directories)
        {
            ExpectAt(layout, directory.Lba, output, directory);
            var (extent, continuations) = DirectoryExtent.Build(directory, extentLimit, syntheticTime);
            output.Write(extent);
            foreach (var block in continuations.Blocks) output.Write(block);
        }

        foreach (var file in layout.Files)
        {
            if (file.Size > 0) ExpectAt(layout, file.Lba, output, file);
            SourceCopier.Copy(file, output);
        }
        ExpectAt(layout, layout.TotalBlocks, output, root);
        output.Finish();
    }

    /// <summary>
    /// The volume descriptors (primary and terminator, two blocks) for blocks 16 and 17 of the medium:
    /// the session's own, except that the volume size counts every block from block 0 to the session's end.
    /// Readers that know nothing of sessions (the kernel, isoinfo, bsdtar) read the medium from there.
    /// </summary>
    public static byte[] HeadDescriptors(IsoEntry root, IsoLayout layout, VolumeLabels labels)
    {
        var primary = VolumeDescriptors.Primary(layout, labels, RootRecord(root, labels.CreationTime.ToUnixTimeSeconds()), layout.TotalBlocks);
        return [.. primary, .. VolumeDescriptors.Terminator()];
    }

    private static byte[] RootRecord(IsoEntry root, long syntheticTime) =>
        DirectoryRecord.Encode(DirectoryRecord.Self, root.Lba, root.DirectorySectors * (uint)IsoBytes.BlockSize,
            RockRidgeFields.ModificationTime(root, syntheticTime), DirectoryRecord.DirectoryFlag, []);

    private static void PathTableAt(IsoLayout layout, uint block, byte[] table, ImageOutput output)
    {
        ExpectAt(layout, block, output, null);
        output.Write(table);
        output.Zeros(IsoBytes.Blocks(table.Length) * IsoBytes.BlockSize - table.Length);
    }

    /// <summary>A mismatch here is a bug in layout; failing beats writing an image whose addresses are wrong.</summary>
    private static void ExpectAt(IsoLayout layout, uint block, ImageOutput output, IsoEntry? entry)
    {
        if (output.Position != (block - (long)layout.SessionStart) * IsoBytes.BlockSize)
            throw new InvalidOperationException(
                $"ISO layout error at '{entry?.IsoPath ?? "path table"}': expected block {block}, writing at byte {output.Position} of the session from block {layout.SessionStart}.");
    }
}
