namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Reads whole blocks of a medium (an image file) by address.</summary>
internal static class MediumBlocks
{
    /// <summary>Fills <paramref name="buffer"/> from block <paramref name="block"/>; false when the medium ends first.</summary>
    public static bool TryRead(Stream medium, long block, Span<byte> buffer)
    {
        medium.Position = block * IsoBytes.BlockSize;
        var done = 0;
        while (done < buffer.Length)
        {
            var n = medium.Read(buffer[done..]);
            if (n == 0) return false;
            done += n;
        }
        return true;
    }

    public static byte[] Read(Stream medium, long block, int length)
    {
        var buffer = new byte[length];
        if (!TryRead(medium, block, buffer))
            throw new InvalidDataException($"The medium ends before block {block} + {length} bytes: it is truncated or damaged.");
        return buffer;
    }
}
