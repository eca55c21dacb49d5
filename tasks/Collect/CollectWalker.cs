using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>A file or symlink that goes into an archive, with the lstat taken while walking.</summary>
public readonly record struct WalkEntry(string Path, PosixStat Stat);

/// <summary>
/// Lists what one collect directory contributes to its archive, with Cedar Backup 3's rules:
/// only regular files and symlinks; excluded paths and patterns prune whole subtrees; a folder
/// holding the ignore file is pruned; symlinks are stored as links unless followed within
/// LinkDepth (which counts down with every level of the tree); Dereference also adds the
/// targets of followed links. Broken links, sockets, fifos and devices are left out.
/// Entries are sorted by name so the same tree always gives the same archive.
/// </summary>
public sealed class CollectWalker
{
    private readonly string _ignoreFile;
    private readonly HashSet<string> _excludePaths;
    private readonly IReadOnlyList<Regex> _excludePatterns;
    private readonly Action<string, string, int> _unreadable;
    private readonly CancellationToken _cancel;
    private readonly List<WalkEntry> _entries = new();
    private readonly HashSet<string> _added = new(StringComparer.Ordinal);

    /// <param name="unreadable">Called with (path, "file"|"directory", errno) for what cannot be read.</param>
    public CollectWalker(string ignoreFile, IEnumerable<string> excludePaths, IReadOnlyList<Regex> excludePatterns,
        Action<string, string, int> unreadable, CancellationToken cancel = default)
    {
        _ignoreFile = ignoreFile;
        _excludePaths = new HashSet<string>(excludePaths, StringComparer.Ordinal);
        _excludePatterns = excludePatterns;
        _unreadable = unreadable;
        _cancel = cancel;
    }

    public IReadOnlyList<WalkEntry> Entries => _entries;

    /// <summary>Adds the contents of a directory (Cedar's addDirContents with addSelf).</summary>
    public void AddDirectory(string path, int linkDepth, bool dereference)
    {
        // A collect directory that is itself a symlink is stored as a link and also followed.
        Walk(path, includeSelf: true, linkDepth, dereference);
    }

    /// <summary>Adds one file (a CollectFile item): the file, or the link itself.</summary>
    public void AddFile(string path)
    {
        var lstat = Posix.LStat(path, out var errno);
        if (lstat is not { } s) { _unreadable(path, "file", errno); return; }
        if (s.IsRegular || s.IsSymlink) Add(path, s);
    }

    /// <summary>The immediate real subdirectories of a folder, after exclusions (for RecursionLevel).</summary>
    public IEnumerable<string> SubdirectoriesOf(string path)
    {
        if (IsExcluded(path)) yield break;
        foreach (var child in List(path))
        {
            var s = Posix.LStat(child, out _);
            if (s is { IsDirectory: true } && !IsExcluded(child)) yield return child;
        }
    }

    private void Walk(string path, bool includeSelf, int linkDepth, bool dereference)
    {
        _cancel.ThrowIfCancellationRequested();
        if (IsExcluded(path)) return;
        if (_ignoreFile.Length > 0 && Posix.LStat(System.IO.Path.Combine(path, _ignoreFile), out _) != null) return;
        if (includeSelf && Posix.LStat(path, out _) is { IsSymlink: true } self) Add(path, self);

        foreach (var child in List(path))
        {
            var lstat = Posix.LStat(child, out var errno);
            if (lstat is not { } l)
            {
                _unreadable(child, "file", errno);
                continue;
            }
            // Cedar asks isfile/isdir, which follow links: a dangling link is neither and is left out.
            var target = l.IsSymlink ? Posix.Stat(child, out _) : l;
            if (target is not { } t) continue;
            if (t.IsRegular)
            {
                if (l.IsSymlink && linkDepth > 0 && dereference && Resolve(child) is { } real) AddIfIncluded(real);
                AddIfIncluded(child, l);
            }
            else if (t.IsDirectory)
            {
                if (!l.IsSymlink) Walk(child, includeSelf: true, linkDepth - 1, dereference);
                else if (linkDepth <= 0) AddIfIncluded(child, l);
                else if (dereference)
                {
                    if (Resolve(child) is { } real && real != child) Walk(real, includeSelf: true, linkDepth - 1, dereference);
                    AddIfIncluded(child, l);
                }
                else Walk(child, includeSelf: false, linkDepth - 1, dereference);
            }
        }
    }

    private IEnumerable<string> List(string path)
    {
        List<string> children;
        try
        {
            children = Directory.EnumerateFileSystemEntries(path).ToList();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            _unreadable(path, "directory", e is UnauthorizedAccessException ? 13 : 5);
            return Array.Empty<string>();
        }
        children.Sort(StringComparer.Ordinal);
        return children;
    }

    private static string? Resolve(string link)
    {
        try
        {
            return new FileInfo(link).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException) { return null; }
    }

    private void AddIfIncluded(string path, PosixStat? known = null)
    {
        if (IsExcluded(path)) return;
        var s = known ?? Posix.LStat(path, out _);
        if (s is { } stat) Add(path, stat);
    }

    private void Add(string path, PosixStat stat)
    {
        if (_added.Add(path)) _entries.Add(new WalkEntry(path, stat));
    }

    private bool IsExcluded(string path)
    {
        if (_excludePaths.Contains(path)) return true;
        foreach (var p in _excludePatterns)
            if (p.IsMatch(path)) return true;
        return false;
    }
}
