namespace BackupBuild.Tests.Support;

/// <summary>Every file under a folder with its size and mtime: to prove a run wrote nothing.</summary>
public static class Snapshot
{
    public static Dictionary<string, string> Of(string root)
    {
        var result = new Dictionary<string, string>();
        if (!Directory.Exists(root)) return result;
        foreach (var f in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(f);
            result[Path.GetRelativePath(root, f)] = info.Exists ? $"{info.Length}:{info.LastWriteTimeUtc.Ticks}" : "dir";
        }
        return result;
    }

    /// <summary>Regular files under a folder, relative path → bytes.</summary>
    public static Dictionary<string, byte[]> Contents(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !new FileInfo(f).Attributes.HasFlag(FileAttributes.ReparsePoint))
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);
}
