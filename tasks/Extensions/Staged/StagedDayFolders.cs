using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Staged;

/// <summary>
/// The daily staging folders (StagingDir/YYYY/MM/DD) that hold cback.stage: Cedar's encrypt and split act on every
/// one of them, not only today's, so a day a failed run left behind is finished by the next.
/// </summary>
public static class StagedDayFolders
{
    private static readonly Regex Year = new(@"^\d{4}$"), TwoDigits = new(@"^\d{2}$");

    public static IReadOnlyList<string> Find(string stagingDir)
    {
        var days = new List<string>();
        if (!Directory.Exists(stagingDir)) return days;
        foreach (var year in Children(stagingDir, Year))
        foreach (var month in Children(year, TwoDigits))
        foreach (var day in Children(month, TwoDigits))
            if (File.Exists(Path.Combine(day, Indicators.Stage))) days.Add(day);
        return days;
    }

    private static IEnumerable<string> Children(string dir, Regex name) =>
        Directory.EnumerateDirectories(dir).Where(d => name.IsMatch(Path.GetFileName(d))).Order(StringComparer.Ordinal);

    /// <summary>
    /// The regular files of a day (recursive, links not followed), indicators left out; temporary files a killed run
    /// left are removed first. Paths are relative to the day.
    /// </summary>
    public static List<string> Files(string dayDir)
    {
        var files = new List<string>();
        var pending = new Stack<string>();
        pending.Push(dayDir);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            AtomicFile.RemoveLeftovers(dir);
            foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                if (Posix.LStat(path, out _) is not { } s) continue;
                if (s.IsDirectory) pending.Push(path);
                else if (s.IsRegular && !Indicators.IsIndicator(Path.GetFileName(path)))
                    files.Add(Path.GetRelativePath(dayDir, path));
            }
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Pieces a split wrote for <paramref name="path"/>: path_00000, path_00001…</summary>
    public static bool IsPieceOf(string candidate, string path) =>
        candidate.Length == path.Length + 6 && candidate.StartsWith(path + "_", StringComparison.Ordinal) &&
        candidate[(path.Length + 1)..].All(char.IsAsciiDigit);

    public static IEnumerable<string> PiecesOf(string fullPath)
    {
        var dir = Path.GetDirectoryName(fullPath)!;
        var name = Path.GetFileName(fullPath);
        return Directory.EnumerateFiles(dir, name + "_*").Where(p => IsPieceOf(Path.GetFileName(p), name));
    }

    /// <summary>Flushes a file that another program (gpg) wrote, so a rename after it publishes complete data.</summary>
    public static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Gives <paramref name="target"/> the permission bits of <paramref name="source"/> (the staged archive's).</summary>
    public static void CopyMode(string source, string target)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(target, File.GetUnixFileMode(source));
    }
}
