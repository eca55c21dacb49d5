using System.Runtime.InteropServices;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// The directories module's history, kept on the server alone (no option reaches the client's rsync, whose command the
/// request gate checks): before a pull every file of the mirror gets a hard link in that pull's version folder; rsync
/// never writes into a file (it writes a new one and renames it over the old), so a changed or deleted file keeps its old
/// content under the link; after the pull the links to files the pull left alone are removed. What stays is exactly
/// what the pull changed or deleted, as it was before. Cost: one link and one unlink per file and pull (no data copied);
/// the space of the old versions of changed files.
/// </summary>
internal static class MirrorVersions
{
    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link_native([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);

    /// <summary>Links every file and symlink of <paramref name="mirror"/> into <paramref name="version"/> (a new, empty, checked folder).</summary>
    public static void Before(string mirror, string version)
    {
        if (Posix.LStat(mirror, out _) is not { IsDirectory: true }) return;
        foreach (var (relative, stat) in Walk(mirror))
        {
            var target = Path.Combine(version, relative);
            if (stat.IsDirectory) { Directory.CreateDirectory(target); continue; }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // link(2) on Linux links a symlink itself, never what it names.
            if (link_native(Path.Combine(mirror, relative), target) != 0)
                throw new IOException($"\"{target}\": {Posix.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Removes from <paramref name="version"/> what is still the same file in the mirror, then the empty folders.</summary>
    public static void After(string mirror, string version)
    {
        if (Posix.LStat(version, out _) is not { IsDirectory: true }) return;
        foreach (var (relative, stat) in Walk(version).Where(e => !e.Stat.IsDirectory).ToList())
        {
            var now = Posix.LStat(Path.Combine(mirror, relative), out _);
            if (now is { } n && n.Inode == stat.Inode && n.Device == stat.Device) File.Delete(Path.Combine(version, relative));
        }
        foreach (var (relative, _) in Walk(version).Where(e => e.Stat.IsDirectory).Reverse().ToList())
        {
            var dir = Path.Combine(version, relative);
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
    }

    /// <summary>Every entry beneath <paramref name="root"/> (relative name, lstat), folders before their contents, links not followed.</summary>
    private static IEnumerable<(string Relative, PosixStat Stat)> Walk(string root)
    {
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            var rel = pending.Pop();
            foreach (var entry in Directory.EnumerateFileSystemEntries(Path.Combine(root, rel)).Order(StringComparer.Ordinal))
            {
                var name = Path.Combine(rel, Path.GetFileName(entry));
                if (Posix.LStat(entry, out _) is not { } st) continue;
                yield return (name, st);
                if (st.IsDirectory) pending.Push(name);
            }
        }
    }
}
