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

    /// <summary>Subtrees this many levels below the collect directory are walked on parallel threads.</summary>
    internal static int ParallelLevels = 2;

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
        var found = new List<WalkEntry>();
        Walk(path, includeSelf: true, linkDepth, dereference, found, level: 0);
        foreach (var e in found) Add(e.Path, e.Stat);
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

    // Appends to `found` in name order; the stat walk of a big tree is the cost of a no-change run,
    // so the first levels of subtrees are walked in parallel and concatenated in order.
    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Walk(string path, bool includeSelf, int linkDepth, bool dereference, List<WalkEntry> found, int level)
    {
        _cancel.ThrowIfCancellationRequested();
        if (IsExcluded(path)) return;
        var children = List(path);
        // The listing tells whether the ignore file is there: no extra system call per folder.
        if (_ignoreFile.Length > 0 && children.BinarySearch(System.IO.Path.Combine(path, _ignoreFile), StringComparer.Ordinal) >= 0) return;
        if (includeSelf && Posix.LStat(path, out _) is { IsSymlink: true } self) found.Add(new WalkEntry(path, self));

        var parts = new List<WalkEntry>?[children.Count];
        var subtrees = new List<(int Index, string Path, bool IncludeSelf, int Depth)>();
        var dirFd = Posix.OpenDirectory(path);
        try
        {
        for (var i = 0; i < children.Count; i++)
        {
            var child = children[i];
            var lstat = dirFd >= 0 ? Posix.LStatAt(dirFd, System.IO.Path.GetFileName(child), out var errno) : Posix.LStat(child, out errno);
            if (lstat is not { } l)
            {
                _unreadable(child, "file", errno);
                continue;
            }
            // Cedar asks isfile/isdir, which follow links: a dangling link is neither and is left out.
            var target = l.IsSymlink ? Posix.Stat(child, out _) : l;
            if (target is not { } t) continue;
            var here = parts[i] = new List<WalkEntry>(1);
            if (t.IsRegular)
            {
                if (l.IsSymlink && linkDepth > 0 && dereference && Resolve(child) is { } real) AddIfIncluded(real, here);
                AddIfIncluded(child, here, l);
            }
            else if (t.IsDirectory)
            {
                if (!l.IsSymlink) subtrees.Add((i, child, true, linkDepth - 1));
                else if (linkDepth <= 0) AddIfIncluded(child, here, l);
                else if (dereference)
                {
                    if (Resolve(child) is { } real && real != child) Walk(real, includeSelf: true, linkDepth - 1, dereference, here, level + 1);
                    AddIfIncluded(child, here, l);
                }
                else subtrees.Add((i, child, false, linkDepth - 1));
            }
        }
        }
        finally
        {
            Posix.CloseDirectory(dirFd);
        }

        void WalkSubtree((int Index, string Path, bool IncludeSelf, int Depth) s) =>
            Walk(s.Path, s.IncludeSelf, s.Depth, dereference, parts[s.Index]!, level + 1);
        if (level < ParallelLevels && subtrees.Count > 1)
            Parallel.ForEach(subtrees, new ParallelOptions { CancellationToken = _cancel }, WalkSubtree);
        else
            foreach (var sub in subtrees) WalkSubtree(sub);

        foreach (var part in parts)
            if (part != null) found.AddRange(part);
    }

    private List<string> List(string path)
    {
        List<string> children;
        try
        {
            children = Directory.EnumerateFileSystemEntries(path).ToList();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            _unreadable(path, "directory", e is UnauthorizedAccessException ? 13 : 5);
            return new List<string>();
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

    private void AddIfIncluded(string path, List<WalkEntry> into, PosixStat? known = null)
    {
        if (IsExcluded(path)) return;
        var s = known ?? Posix.LStat(path, out _);
        if (s is { } stat) into.Add(new WalkEntry(path, stat));
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
