namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Rock Ridge NM: the real file name as raw bytes. An entry holds at most 250 of them, so longer names
/// are split over several entries, each but the last flagged CONTINUE (RRIP 1.09 4.1.4).
/// </summary>
internal static class NameEntries
{
    private const int MaxChunk = 255 - 5;
    private const byte Continue = 0x01;

    public static IEnumerable<byte[]> For(byte[] name)
    {
        for (var start = 0; start < name.Length; start += MaxChunk)
        {
            var length = Math.Min(MaxChunk, name.Length - start);
            var entry = SuspEntries.Header("NM", 5 + length);
            entry[4] = start + length < name.Length ? Continue : (byte)0;
            name.AsSpan(start, length).CopyTo(entry.AsSpan(5));
            yield return entry;
        }
    }
}
