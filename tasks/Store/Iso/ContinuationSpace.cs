namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The blocks that hold SUSP continuation areas for one directory, placed right after the directory's
/// extent. An area never crosses a block boundary: Linux and libarchive refuse one that does, and
/// libarchive also wants it after the directory and before any file data, which this placement gives.
/// </summary>
internal sealed class ContinuationSpace(uint firstBlock)
{
    private readonly List<byte[]> blocks = [];
    private int used = IsoBytes.BlockSize;

    public int BlockCount => blocks.Count;

    public IReadOnlyList<byte[]> Blocks => blocks;

    public (uint Block, int Offset) Allocate(int length)
    {
        if (used + length > IsoBytes.BlockSize)
        {
            blocks.Add(new byte[IsoBytes.BlockSize]);
            used = 0;
        }
        var place = (firstBlock + (uint)(blocks.Count - 1), used);
        used += length;
        return place;
    }

    public Span<byte> At((uint Block, int Offset) place, int length) =>
        blocks[(int)(place.Block - firstBlock)].AsSpan(place.Offset, length);
}
