using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Plain ISO 9660 names ("README.TXT;1") for readers without Rock Ridge. They are derived from the real
/// names, restricted to d-characters within level 2 lengths and made unique in their directory; the real
/// name travels in Rock Ridge NM entries.
/// </summary>
internal static class IsoIdentifiers
{
    public const int MaxDirectoryLength = 31;
    public const int MaxFileLength = 30; // name + extension, without the '.' and ";1" (ECMA-119 7.5.1 level 2)
    private const int MaxExtensionLength = 10; // leaves at least 20 characters of the name itself

    /// <summary>Assigns <see cref="IsoEntry.Identifier"/> to every child of <paramref name="directory"/>.</summary>
    public static void Assign(IsoEntry directory)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        // Real-name order, so the same tree always gets the same identifiers.
        foreach (var child in directory.Children.Values.OrderBy(c => c.NameBytes, ByteOrder.Instance))
        {
            var (name, extension) = Split(child);
            var key = Unique(name, extension, child.IsDirectory ? MaxDirectoryLength : MaxFileLength - extension.Length, taken);
            child.Identifier = child.IsDirectory ? key : (extension.Length == 0 ? key + "." : key) + ";1";
        }
    }

    private static (string Name, string Extension) Split(IsoEntry entry)
    {
        var real = entry.Name;
        if (entry.IsDirectory) return (Map(real, MaxDirectoryLength), "");
        // A leading dot (".profile") marks a hidden file, not an extension.
        var dot = real.LastIndexOf('.');
        if (dot <= 0) return (Map(real, MaxFileLength), "");
        var extension = Map(real[(dot + 1)..], MaxExtensionLength);
        return (Map(real[..dot], MaxFileLength - extension.Length), extension);
    }

    /// <summary>
    /// The key is what readers without Rock Ridge show after dropping ";1" and a trailing '.', so a file
    /// "A." and a folder "A" count as a clash too.
    /// </summary>
    private static string Unique(string name, string extension, int maxName, HashSet<string> taken)
    {
        var candidate = name;
        for (var n = 1; ; n++)
        {
            var key = extension.Length == 0 ? candidate : candidate + "." + extension;
            if (taken.Add(key)) return key;
            var suffix = "_" + n;
            candidate = name[..Math.Min(name.Length, maxName - suffix.Length)] + suffix;
        }
    }

    /// <summary>Uppercases ASCII letters and replaces every other character outside d-characters with '_'.</summary>
    private static string Map(string text, int maxLength)
    {
        var result = new StringBuilder(Math.Min(text.Length, maxLength));
        foreach (var rune in text.EnumerateRunes())
        {
            if (result.Length == maxLength) break;
            var c = rune.IsAscii ? char.ToUpperInvariant((char)rune.Value) : '_';
            result.Append(c is >= 'A' and <= 'Z' or >= '0' and <= '9' ? c : '_');
        }
        return result.Length == 0 ? "_" : result.ToString();
    }
}
