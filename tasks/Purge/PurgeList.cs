using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Purge;

public enum EntryKind { File, Symlink, Directory, Special }

/// <summary>One thing below a purge directory, as lstat saw it.</summary>
public sealed record PurgeEntry(string Path, EntryKind Kind, long Size);

/// <summary>
/// Everything below a purge directory (not the directory itself), depth first with each folder
/// before its contents, symbolic links not followed. That order matters: removing folders in it
/// tries a parent before its children, so a parent emptied in this run goes at the next run, as in Cedar.
/// </summary>
public static class PurgeList
{
    private static readonly EnumerationOptions AllEntries = new() { AttributesToSkip = 0, IgnoreInaccessible = false };

    public static List<PurgeEntry> Below(string root, Action<string, string> unreadable, CancellationToken cancel)
    {
        var entries = new List<PurgeEntry>();
        AddContents(root, entries, unreadable, cancel);
        return entries;
    }

    private static void AddContents(string dir, List<PurgeEntry> entries, Action<string, string> unreadable, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        List<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(dir, "*", AllEntries)
                .Select(p => System.IO.Path.GetFileName(p)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            unreadable(dir, e.Message);
            return;
        }

        foreach (var name in names)
        {
            var path = System.IO.Path.Combine(dir, name);
            var stat = Posix.LStat(path, out _);
            if (stat == null) continue; // gone since the listing
            var s = stat.Value;
            var kind = s.IsRegular ? EntryKind.File : s.IsSymlink ? EntryKind.Symlink
                : s.IsDirectory ? EntryKind.Directory : EntryKind.Special;
            entries.Add(new PurgeEntry(path, kind, s.Size));
            if (kind == EntryKind.Directory) AddContents(path, entries, unreadable, cancel);
        }
    }
}
