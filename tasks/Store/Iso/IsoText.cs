namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Validation of the text fields of the volume descriptor. ECMA-119 restricts them to small
/// uppercase character sets (7.4.1 a-characters, 7.4.2 d-characters); readers that are strict about
/// it would show garbage or refuse the volume, so bad input is refused here instead.
/// </summary>
internal static class IsoText
{
    private const string DCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    private const string ACharacters = DCharacters + " !\"%&'()*+,-./:;<=>?";

    // A volume label is shown to people ("CEDAR BACKUP 21-NOV-2026"): d-characters plus the space
    // and hyphen that dates and words need. Every reader we know accepts those two.
    private const string VolumeCharacters = DCharacters + " -";

    public static string VolumeIdentifier(string value) =>
        Checked(value, 32, VolumeCharacters, "volume identifier", "letters, digits, '_', '-' and spaces");

    public static string AField(string value, int maxLength, string what) =>
        Checked(value, maxLength, ACharacters, what, "ECMA-119 a-characters (letters, digits, spaces and common punctuation)");

    private static string Checked(string value, int maxLength, string allowed, string what, string allowedText)
    {
        ArgumentNullException.ThrowIfNull(value);
        var upper = value.ToUpperInvariant();
        if (upper.Length > maxLength)
            throw new ArgumentException($"The ISO {what} '{value}' is {upper.Length} characters long; at most {maxLength} are allowed.");
        foreach (var c in upper)
            if (!allowed.Contains(c))
                throw new ArgumentException($"The ISO {what} '{value}' contains '{c}'; only {allowedText} are allowed.");
        return upper;
    }
}
