using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>One entry of a staging day: its path relative to the day, lstat mode and size, and for regular files the SHA-256.</summary>
public sealed record StagedEntry(string RelativePath, uint Mode, long Size, byte[]? Sha256)
{
    public bool IsRegularFile => (Mode & PosixStat.TypeMask) == 0x8000;
}

/// <summary>
/// A staging day read once before Store writes it: every file's SHA-256, which CheckData compares with what the
/// medium gives back, and a fingerprint of it all (relative path, mode, size and hash of every file; indicators
/// by name only) kept in cback.store, so a later Store can tell a day that is stored and unchanged from one that
/// was staged again with different data. Contents, not times: an identical archive staged again is the same day.
/// </summary>
public static class StagingListing
{
    private const string Header = "backupbuild-store 1";

    public static IReadOnlyList<StagedEntry> Scan(string dayDir, CancellationToken cancel = default)
    {
        var entries = new List<StagedEntry>();
        var pending = new Stack<string>();
        pending.Push(dayDir);
        while (pending.Count > 0)
        {
            // lstat decides: a link to a folder is an entry, never a way into the folder (it may loop or leave the day).
            foreach (var path in Directory.EnumerateFileSystemEntries(pending.Pop(), "*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                if (Posix.LStat(path, out _) is not { } s) continue;
                entries.Add(new StagedEntry(Path.GetRelativePath(dayDir, path), s.Mode, s.Size, null));
                if (s.IsDirectory) pending.Push(path);
            }
        }
        // Hashing is the expensive part: files are independent, so use every core.
        var hashed = new StagedEntry[entries.Count];
        Parallel.For(0, entries.Count, new ParallelOptions { CancellationToken = cancel }, i =>
            hashed[i] = entries[i].IsRegularFile ? entries[i] with { Sha256 = ContentHash(Path.Combine(dayDir, entries[i].RelativePath)) } : entries[i]);
        return hashed;
    }

    public static string Fingerprint(string dayDir) => Fingerprint(Scan(dayDir));

    public static string Fingerprint(IReadOnlyList<StagedEntry> entries)
    {
        var lines = new List<string>();
        foreach (var e in entries)
        {
            var name = Path.GetFileName(e.RelativePath);
            if (name == Indicators.Store) continue;
            lines.Add(Indicators.IsIndicator(name) || (e.Mode & PosixStat.TypeMask) == 0x4000
                ? $"{e.RelativePath}\0{e.Mode & PosixStat.TypeMask}"
                : $"{e.RelativePath}\0{e.Mode}\0{e.Size}\0{(e.Sha256 == null ? "" : Convert.ToHexString(e.Sha256))}");
        }
        lines.Sort(StringComparer.Ordinal);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines)))).ToLowerInvariant();
    }

    private static byte[] ContentHash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20, FileOptions.SequentialScan);
        return SHA256.HashData(stream);
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
