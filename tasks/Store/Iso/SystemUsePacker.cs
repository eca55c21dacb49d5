namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Places a record's System Use entries: as many as fit stay in the directory record (at most 255 bytes
/// in all), the rest go to continuation areas reached through a CE entry, chained when one block is not
/// enough. Entries keep their order and are never split, so SP stays first and NM/SL pieces stay in order.
/// </summary>
internal static class SystemUsePacker
{
    private const int Ce = SuspEntries.ContinuationLength;

    /// <summary>Returns the bytes for the record itself; continuation areas are written into <paramref name="space"/>.</summary>
    public static byte[] Pack(IReadOnlyList<byte[]> entries, int capacity, ContinuationSpace space)
    {
        var remaining = new int[entries.Count + 1];
        for (var k = entries.Count - 1; k >= 0; k--) remaining[k] = remaining[k + 1] + entries[k].Length;
        if (remaining[0] <= capacity) return Concat(entries, 0, entries.Count, tail: 0);

        var i = Fill(entries, 0, capacity - Ce);
        var inlineCount = i;
        var areas = new List<(int Start, int Count, int Length)>();
        while (i < entries.Count)
        {
            if (remaining[i] <= IsoBytes.BlockSize)
            {
                areas.Add((i, entries.Count - i, remaining[i]));
                break;
            }
            var end = Fill(entries, i, IsoBytes.BlockSize - Ce);
            areas.Add((i, end - i, remaining[i] - remaining[end] + Ce));
            i = end;
        }

        var places = areas.Select(a => space.Allocate(a.Length)).ToList();
        for (var k = 0; k < areas.Count; k++)
        {
            var (start, count, length) = areas[k];
            var last = k == areas.Count - 1;
            var bytes = Concat(entries, start, count, last ? 0 : Ce);
            if (!last) SuspEntries.WriteCE(bytes.AsSpan(bytes.Length - Ce), places[k + 1].Block, places[k + 1].Offset, areas[k + 1].Length);
            bytes.CopyTo(space.At(places[k], length));
        }
        var inline = Concat(entries, 0, inlineCount, Ce);
        SuspEntries.WriteCE(inline.AsSpan(inline.Length - Ce), places[0].Block, places[0].Offset, areas[0].Length);
        return inline;
    }

    /// <summary>Index after the last entry, from <paramref name="start"/>, that fits in <paramref name="room"/> bytes.</summary>
    private static int Fill(IReadOnlyList<byte[]> entries, int start, int room)
    {
        var i = start;
        while (i < entries.Count && entries[i].Length <= room) room -= entries[i++].Length;
        return i;
    }

    private static byte[] Concat(IReadOnlyList<byte[]> entries, int start, int count, int tail)
    {
        var length = tail; // room left at the end for a CE entry
        for (var k = start; k < start + count; k++) length += entries[k].Length;
        var result = new byte[length];
        var at = 0;
        for (var k = start; k < start + count; k++)
        {
            entries[k].CopyTo(result, at);
            at += entries[k].Length;
        }
        return result;
    }
}
