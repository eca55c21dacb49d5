using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// A fingerprint of a staging day (relative path, size and SHA-256 of every file; indicators by
/// name only), kept in cback.store so a later Store can tell a day that is already stored and
/// unchanged from one that was staged again with different data. Contents, not times: a
/// re-collected, identical archive staged again is still the same day.
/// </summary>
public static class StagingListing
{
    private const string Header = "backupbuild-store 1";

    public static string Fingerprint(string dayDir)
    {
        var lines = new List<string>();
        foreach (var path in Directory.EnumerateFileSystemEntries(dayDir, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(dayDir, path);
            var name = Path.GetFileName(path);
            if (name == Indicators.Store) continue;
            var st = Posix.LStat(path, out _);
            if (st is not { } s) continue;
            lines.Add(Indicators.IsIndicator(name) || s.IsDirectory
                ? $"{rel}\0{s.Mode & PosixStat.TypeMask}"
                : $"{rel}\0{s.Mode}\0{s.Size}\0{ContentHash(path)}");
        }
        lines.Sort(StringComparer.Ordinal);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines)))).ToLowerInvariant();
    }

    private static string ContentHash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>The content of cback.store: Cedar only checks that the file exists; we also keep the fingerprint.</summary>
    public static byte[] IndicatorContent(string fingerprint, string medium) =>
        Encoding.UTF8.GetBytes($"{Header}\nmedium={medium}\nlisting={fingerprint}\n");

    /// <summary>The fingerprint recorded in a day's cback.store, or null (no indicator, or Cedar's empty one).</summary>
    public static string? Recorded(string dayDir)
    {
        var path = Path.Combine(dayDir, Indicators.Store);
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith("listing=", StringComparison.Ordinal)) return line["listing=".Length..];
        return null;
    }
}
