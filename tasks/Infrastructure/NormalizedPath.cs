namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Cedar Backup's rule for turning an absolute path into a file name (archives, digests).</summary>
public static class NormalizedPath
{
    public static string From(string absolutePath)
    {
        if (absolutePath == "/") return "_";
        var s = absolutePath.StartsWith('/') ? absolutePath[1..] : absolutePath;
        if (s.StartsWith('.')) s = "_" + s[1..];
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] == '/' || chars[i] == '\\') chars[i] = '-';
            else if (char.IsWhiteSpace(chars[i]) || chars[i] == ':') chars[i] = '_';
        }
        return new string(chars);
    }
}
