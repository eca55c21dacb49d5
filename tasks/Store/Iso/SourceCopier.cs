namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Copies one file's data into the image, padded to whole blocks, and records the SHA-256 of what it copied
/// (hashing while the bytes are in the cache spares Store a second pass over the staging day). The size was
/// fixed when the tree was scanned and the layout depends on it, so a file that changed size since cannot be written.
/// </summary>
internal static class SourceCopier
{
    public static void Copy(IsoEntry file, ImageOutput output)
    {
        var path = file.SourcePath!;
        using var source = Open(path);
        if (file.CopyExisting)
        {
            CopyExtents(file, source, output);
            return;
        }
        var size = source.Length;
        if (size != file.Size) throw Changed(path, file.Size, size);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var copied = output.CopyFrom(source, file.Size, hash);
        if (copied != file.Size) throw Changed(path, file.Size, copied);
        file.Sha256 = hash.GetHashAndReset();
        output.Zeros(IsoBytes.Blocks(file.Size) * IsoBytes.BlockSize - file.Size);
    }

    /// <summary>A file of an earlier session, read back from its extents on the medium.</summary>
    private static void CopyExtents(IsoEntry file, FileStream medium, ImageOutput output)
    {
        foreach (var (lba, length) in file.Existing!)
        {
            medium.Position = lba * (long)IsoBytes.BlockSize;
            if (output.CopyFrom(medium, length) != length)
                throw new IOException($"The medium '{medium.Name}' ends inside the data of '{file.IsoPath}'.");
        }
        output.Zeros(IsoBytes.Blocks(file.Size) * IsoBytes.BlockSize - file.Size);
    }

    private static FileStream Open(string path)
    {
        try
        {
            // No FileStream buffer: reads go straight into the image buffer in big pieces.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0,
                FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read '{path}' for the ISO image: {e.Message}", e);
        }
    }

    private static IOException Changed(string path, long expected, long actual) =>
        new($"'{path}' changed size while the ISO image was being made (it had {expected} bytes when scanned, now {actual}).");
}
