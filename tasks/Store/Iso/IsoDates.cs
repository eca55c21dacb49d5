namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The two date formats of ECMA-119: the 7-byte binary one of directory records (9.1.5), also used
/// by Rock Ridge TF entries, and the 17-byte digit one of volume descriptors (8.4.26.1).
/// Everything is written in UTC (offset 0) so the same input gives the same bytes on any machine.
/// </summary>
internal static class IsoDates
{
    // The 7-byte format counts years from 1900 in one byte.
    private static readonly long Earliest = new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly long Latest = new DateTimeOffset(2155, 12, 31, 23, 59, 59, TimeSpan.Zero).ToUnixTimeSeconds();

    public static void Short(Span<byte> target, long unixSeconds)
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(unixSeconds, Earliest, Latest)).UtcDateTime;
        target[0] = (byte)(t.Year - 1900);
        target[1] = (byte)t.Month;
        target[2] = (byte)t.Day;
        target[3] = (byte)t.Hour;
        target[4] = (byte)t.Minute;
        target[5] = (byte)t.Second;
        target[6] = 0;
    }

    public static void Long(Span<byte> target, DateTimeOffset time)
    {
        var t = time.UtcDateTime;
        var digits = $"{t.Year:D4}{t.Month:D2}{t.Day:D2}{t.Hour:D2}{t.Minute:D2}{t.Second:D2}{t.Millisecond / 10:D2}";
        for (var i = 0; i < 16; i++) target[i] = (byte)digits[i];
        target[16] = 0;
    }

    /// <summary>"Not specified": sixteen '0' digits and a zero offset (8.4.26.1).</summary>
    public static void LongUnspecified(Span<byte> target)
    {
        target[..16].Fill((byte)'0');
        target[16] = 0;
    }
}
