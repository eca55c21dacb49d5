using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Records a source tree with lstat, never following symbolic links, so the image holds the links
/// themselves and cannot loop or escape the backup.
/// </summary>
internal static class SourceScanner
{
    // Hidden is how .NET reports dot-files on Unix; a backup must not skip them.
    private static readonly EnumerationOptions AllEntries = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    /// <summary>
    /// A detached directory entry with the attributes of <paramref name="sourceDirectory"/> and everything
    /// below it. Scanning apart from the image tree keeps the image tree untouched when scanning fails.
    /// </summary>
    public static IsoEntry Scan(string sourceDirectory)
    {
        var stat = Posix.LStat(sourceDirectory, out var errno);
        if (stat == null)
            throw new DirectoryNotFoundException($"Cannot read the directory '{sourceDirectory}': {Posix.ErrorText(errno)}.");
        if (!stat.Value.IsDirectory)
            throw new ArgumentException($"'{sourceDirectory}' is not a directory (symbolic links are not followed).");

        var top = IsoEntry.NewSyntheticDirectory("", null);
        CopyAttributes(top, stat.Value);
        var pending = new Stack<(IsoEntry Directory, string Path)>();
        pending.Push((top, sourceDirectory));
        while (pending.Count > 0)
        {
            var (directory, path) = pending.Pop();
            foreach (var childPath in List(path))
            {
                var child = Add(directory, childPath);
                if (child.IsDirectory) pending.Push((child, childPath));
            }
        }
        return top;
    }

    public static void CopyAttributes(IsoEntry entry, PosixStat stat)
    {
        entry.Mode = stat.Mode;
        entry.Uid = stat.Uid;
        entry.Gid = stat.Gid;
        entry.MtimeSeconds = stat.MtimeSeconds;
        entry.CtimeSeconds = stat.CtimeSeconds;
        entry.Synthetic = false;
    }

    private static List<string> List(string directory)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(directory, "*", AllEntries).ToList();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"Cannot list the directory '{directory}': {e.Message}", e);
        }
    }

    private static IsoEntry Add(IsoEntry directory, string path)
    {
        var stat = Posix.LStat(path, out var errno)
            ?? throw new IOException($"Cannot read '{path}': {Posix.ErrorText(errno)}.");
        var entry = IsoEntry.New(KindOf(stat, path), Path.GetFileName(path), directory);
        CopyAttributes(entry, stat);
        if (entry.Kind == IsoEntryKind.File)
        {
            entry.SourcePath = path;
            entry.Size = stat.Size;
        }
        if (entry.Kind == IsoEntryKind.Symlink) entry.LinkTarget = ReadLink(path);
        directory.Children.Add(entry.Name, entry);
        return entry;
    }

    private static IsoEntryKind KindOf(PosixStat stat, string path)
    {
        if (stat.IsRegular) return IsoEntryKind.File;
        if (stat.IsDirectory) return IsoEntryKind.Directory;
        if (stat.IsSymlink) return IsoEntryKind.Symlink;
        throw new NotSupportedException(
            $"'{path}' is a special file (device, FIFO or socket); ISO images can only hold regular files, directories and symbolic links.");
    }

    // libisofs (xorriso) refuses to load a whole image with a longer link target, and will not write one.
    private const int MaxLinkTargetBytes = 1023;

    private static string ReadLink(string path)
    {
        string? target;
        try
        {
            target = new FileInfo(path).LinkTarget;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"Cannot read the symbolic link '{path}': {e.Message}", e);
        }
        if (target == null) throw new IOException($"Cannot read the symbolic link '{path}': it is no longer a link.");
        var length = System.Text.Encoding.UTF8.GetByteCount(target);
        if (length > MaxLinkTargetBytes)
            throw new NotSupportedException(
                $"The symbolic link '{path}' points to a path of {length} bytes; ISO images made here allow at most {MaxLinkTargetBytes}, because xorriso cannot read images with longer ones.");
        return target;
    }
}
