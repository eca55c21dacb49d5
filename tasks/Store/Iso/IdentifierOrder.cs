namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The order of directory records and path table entries (ECMA-119 9.3, 6.9.1): by name, then by
/// extension, each compared as if the shorter were padded with spaces, then by version descending.
/// </summary>
internal sealed class IdentifierOrder : IComparer<string>
{
    public static readonly IdentifierOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        var (nameX, extX, versionX) = Parts(x!);
        var (nameY, extY, versionY) = Parts(y!);
        var result = Padded(nameX, nameY);
        if (result == 0) result = Padded(extX, extY);
        if (result == 0) result = -Padded(versionX, versionY);
        return result;
    }

    private static (string Name, string Extension, string Version) Parts(string identifier)
    {
        var semicolon = identifier.IndexOf(';');
        var version = semicolon < 0 ? "" : identifier[(semicolon + 1)..];
        var file = semicolon < 0 ? identifier : identifier[..semicolon];
        var dot = file.IndexOf('.');
        return dot < 0 ? (file, "", version) : (file[..dot], file[(dot + 1)..], version);
    }

    private static int Padded(string a, string b)
    {
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var ca = i < a.Length ? a[i] : ' ';
            var cb = i < b.Length ? b[i] : ' ';
            if (ca != cb) return ca.CompareTo(cb);
        }
        return 0;
    }
}
