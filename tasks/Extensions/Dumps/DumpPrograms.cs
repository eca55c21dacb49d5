namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>Finding the dump programs and quoting what they said when they failed.</summary>
internal static class DumpPrograms
{
    /// <summary>
    /// The configured program (a path, or a name looked up on PATH), else the first of the
    /// candidates on PATH; null when none is installed.
    /// </summary>
    public static string? Find(string? configured, IEnumerable<string> candidates)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return configured.Contains('/') ? (File.Exists(configured) ? configured : null) : OnPath(configured.Trim());
        return candidates.Select(OnPath).FirstOrDefault(p => p != null);
    }

    public static string? OnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path)) path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The end of a program's error output, where the reason usually is, on one line.</summary>
    public static string LastLines(string error, int lines = 3)
    {
        var all = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return all.Length == 0 ? "(no message)" : string.Join(" | ", all.TakeLast(lines));
    }
}
