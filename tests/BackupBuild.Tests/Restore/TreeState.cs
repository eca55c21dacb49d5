using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tests.Restore;

/// <summary>What a backup must give back of a tree: every regular file (mode, mtime, SHA-256) and symlink (target, mtime).</summary>
internal static class TreeState
{
    public static SortedDictionary<string, string> Of(string root, bool withTimes = true)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return result;
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(pending.Pop(), "*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                var st = Posix.LStat(path, out _)!.Value;
                var rel = Path.GetRelativePath(root, path);
                var time = (withTimes ? $" mtime={st.MtimeSeconds}" : "") + $" owner={st.Uid}:{st.Gid}";
                if (st.IsDirectory) pending.Push(path);
                else if (st.IsSymlink) result[rel] = $"link -> {new FileInfo(path).LinkTarget}{time}";
                else if (st.IsRegular)
                    result[rel] = $"file mode={Convert.ToString(st.Permissions, 8)}{time} size={st.Size} sha256={Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))}";
            }
        }
        return result;
    }

    /// <summary>Assert-friendly difference: the lines only one side has.</summary>
    public static string Diff(IDictionary<string, string> expected, IDictionary<string, string> actual)
    {
        var lines = new List<string>();
        foreach (var (k, v) in expected)
            if (!actual.TryGetValue(k, out var a)) lines.Add($"missing  {k}: {v}");
            else if (a != v) lines.Add($"differs  {k}: expected {v}, got {a}");
        foreach (var (k, v) in actual)
            if (!expected.ContainsKey(k)) lines.Add($"extra    {k}: {v}");
        return string.Join("\n", lines);
    }
}
