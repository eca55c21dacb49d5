namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Numeric header fields the way GNU tar and Python's tarfile (GNU_FORMAT) write them: zero-padded octal
/// digits and a NUL when the value fits, otherwise GNU's base-256 form, which every reader we target
/// understands and which is the only way to store sizes of 8 GiB and more, large ids and negative times.
/// </summary>
internal static class TarNumber
{
    /// <summary>Fills <paramref name="field"/> (its whole width) with <paramref name="value"/>.</summary>
    public static void Write(Span<byte> field, long value)
    {
        var digits = field.Length - 1;
        // Octal when 0 <= value < 8^digits: the form plain ustar readers accept, so used whenever possible.
        if (value >= 0 && (digits >= 21 || value < 1L << (3 * digits)))
        {
            for (var i = digits - 1; i >= 0; i--, value >>= 3)
                field[i] = (byte)('0' + (value & 7));
            field[digits] = 0;
            return;
        }
        // Base-256: a marker byte (0x80 positive, 0xFF negative), then the value big-endian in two's
        // complement over the remaining bytes. A long always fits in the 7 or 11 bytes left (8-byte fields
        // only carry ids and modes, which are 32-bit).
        field[0] = value < 0 ? (byte)0xFF : (byte)0x80;
        for (var i = field.Length - 1; i >= 1; i--, value >>= 8)
            field[i] = (byte)value;
    }
}
