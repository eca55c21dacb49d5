using System.Globalization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Purge;

/// <summary>The newest day folder (YYYY/MM/DD, real folders, not links) below the staging dir.</summary>
public static class NewestStagedDay
{
    /// <summary>The full path of the newest staged day, or null when there is none (or no staging dir).</summary>
    public static string? Find(string? stagingDir)
    {
        if (string.IsNullOrWhiteSpace(stagingDir) || !stagingDir.StartsWith('/')) return null;
        var root = PurgeGuard.Normalize(stagingDir);
        foreach (var year in Numbered(root, 4))
        foreach (var month in Numbered(Path.Combine(root, year), 2))
        foreach (var day in Numbered(Path.Combine(root, year, month), 2))
            return Path.Combine(root, year, month, day);
        return null;
    }

    /// <summary>Sub-folders named by <paramref name="digits"/> digits, newest (largest) first.</summary>
    private static IEnumerable<string> Numbered(string dir, int digits)
    {
        var names = Posix.ReadDirectory(dir, out _);
        if (names == null) return Array.Empty<string>();
        return names.Select(n => PosixPath.Decode(n))
            .Where(n => n.Length == digits && n.All(char.IsAsciiDigit)
                && Posix.LStat(Path.Combine(dir, n), out _) is { IsDirectory: true })
            .OrderByDescending(n => int.Parse(n, CultureInfo.InvariantCulture));
    }
}
