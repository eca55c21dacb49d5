using System.Globalization;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Reads the two ECMA-119 date formats back into Unix seconds; the inverse of <see cref="IsoDates"/>.</summary>
internal static class IsoDateReader
{
    /// <summary>The 7-byte format (9.1.5): years since 1900, then month … second, then the offset in 15-minute units.</summary>
    public static long? Short(ReadOnlySpan<byte> field)
    {
        if (field[1] is < 1 or > 12 || field[2] is < 1 or > 31 || field[3] > 23 || field[4] > 59 || field[5] > 59) return null;
        try
        {
            var offset = TimeSpan.FromMinutes(15 * (sbyte)field[6]);
            return new DateTimeOffset(1900 + field[0], field[1], field[2], field[3], field[4], field[5], offset).ToUnixTimeSeconds();
        }
        catch (ArgumentException) { return null; }
    }

    /// <summary>The 17-byte digit format (8.4.26.1); all zero digits mean "not specified".</summary>
    public static long? Long(ReadOnlySpan<byte> field)
    {
        var digits = System.Text.Encoding.ASCII.GetString(field[..14]);
        if (!DateTime.TryParseExact(digits, "yyyyMMddHHmmss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)) return null;
        try
        {
            return new DateTimeOffset(t, TimeSpan.FromMinutes(15 * (sbyte)field[16])).ToUnixTimeSeconds();
        }
        catch (ArgumentException) { return null; }
    }
}
