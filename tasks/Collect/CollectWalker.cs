using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>A file or symlink that goes into an archive: its exact name bytes and the lstat taken while walking.</summary>
public readonly struct WalkEntry
{
    public WalkEntry(byte[] pathBytes, PosixStat stat)
    {
        PathBytes = pathBytes;
        Stat = stat;
    }

    public WalkEntry(string path, PosixStat stat) : this(PosixPath.Encode(path), stat) { }

    /// <summary>The absolute path as the kernel has it (no NUL).</summary>
    public byte[] PathBytes { get; }

    public PosixStat Stat { get; }

    /// <summary>The path as a <see cref="PosixPath"/> name (bytes that are not UTF-8 escaped).</summary>
    public string Path => PosixPath.Decode(PathBytes);
}

/// <summary>
/// Lists what one collect directory contributes to its archive, with Cedar Backup 3's rules:
/// only regular files and symlinks; excluded paths and patterns prune whole subtrees; a folder
/// holding the ignore file is pruned; symlinks are stored as links unless followed within
/// LinkDepth (which counts down with every level of the tree); Dereference also adds the
/// targets of followed links. Broken links, sockets, fifos and devices are left out.
///
/// Names are handled as bytes from readdir to the archive, so names that are not UTF-8 are kept
/// exactly. Entries are handed out as they are found, in <see cref="WalkOrder"/> (each folder's
/// names by their bytes, depth first), so the same tree always gives the same archive and a
/// million files need no more memory than the deepest folder's listing. Only the targets that
/// Dereference adds can come out of order (they are where the link points, not where it is).
/// </summary>
public sealed partial class CollectWalker
{
    private readonly byte[]? _ignoreFile;
    private readonly HashSet<string> _excludePaths;
    // Interpreted at first; compiled once this walk has matched many paths (Patterns()).
    private volatile IReadOnlyList<Regex> _excludePatterns;
    private int _patternChecks;
    private readonly Action<string, string, int> _unreadable;
    private readonly CancellationToken _cancel;
    private readonly List<WalkEntry> _entries = new();
    private HashSet<string>? _added;

    /// <param name="unreadable">Called with (path, "file"|"directory", errno) for what cannot be read.</param>
    public CollectWalker(string ignoreFile, IEnumerable<string> excludePaths, IReadOnlyList<Regex> excludePatterns,
        Action<string, string, int> unreadable, CancellationToken cancel = default)
    {
        _ignoreFile = ignoreFile.Length > 0 ? PosixPath.Encode(ignoreFile, nulTerminated: true) : null;
        _excludePaths = new HashSet<string>(excludePaths, StringComparer.Ordinal);
        _excludePatterns = excludePatterns;
        _unreadable = unreadable;
        _cancel = cancel;
    }

    /// <summary>What the collecting overloads (without an emit callback) gathered: for small trees and tests.</summary>
    public IReadOnlyList<WalkEntry> Entries => _entries;

    /// <summary>Adds the contents of a directory (Cedar's addDirContents with addSelf) to <see cref="Entries"/>.</summary>
    public void AddDirectory(string path, int linkDepth, bool dereference) =>
        AddDirectory(path, linkDepth, dereference, _entries.Add);

    /// <summary>Walks a directory and hands each entry to <paramref name="emit"/> as it is found.</summary>
    public void AddDirectory(string path, int linkDepth, bool dereference, Action<WalkEntry> emit)
    {
        // Only followed links can bring the same file twice; without them no set of seen paths is kept.
        _added = dereference ? new HashSet<string>(StringComparer.Ordinal) : null;
        // No link is followed below the top (LinkDepth 0, the default): the folders can be read on two threads.
        if (Threads > 1 && linkDepth <= 0) WalkParallel(PosixPath.Encode(path), emit);
        else Walk(PosixPath.Encode(path), includeSelf: true, linkDepth, dereference, emit);
        _added = null;
    }

    /// <summary>Adds one file (a CollectFile item): the file, or the link itself.</summary>
    public void AddFile(string path) => AddFile(path, _entries.Add);

    public void AddFile(string path, Action<WalkEntry> emit)
    {
        var lstat = Posix.LStat(path, out var errno);
        if (lstat is not { } s) { _unreadable(path, "file", errno); return; }
        if (s.IsRegular || s.IsSymlink) emit(new WalkEntry(path, s));
    }

    /// <summary>The immediate real subdirectories of a folder, after exclusions (for RecursionLevel).</summary>
    public IEnumerable<string> SubdirectoriesOf(string path)
    {
        var bytes = PosixPath.Encode(path);
        if (IsExcluded(bytes)) yield break;
        using var listing = Posix.ListDirectory(Terminated(bytes), out var errno);
        if (listing == null)
        {
            _unreadable(path, "directory", errno);
            yield break;
        }
        foreach (var name in listing.Names)
        {
            var child = Child(bytes, name);
            if (listing.LStat(name, out _) is { IsDirectory: true } && !IsExcluded(child)) yield return PosixPath.Decode(child);
        }
    }

    // Runs once per folder: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Walk(byte[] path, bool includeSelf, int linkDepth, bool dereference, Action<WalkEntry> emit,
        Posix.DirectoryListing? parent = null, byte[]? nameZ = null)
    {
        _cancel.ThrowIfCancellationRequested();
        if (IsExcluded(path)) return;
        var pathZ = Terminated(path);
        // A folder seen as a folder in its parent is opened relative to the parent, never through a link: one swapped
        // for a link since is refused (ELOOP), not entered. Links the walk means to follow (LinkDepth) go by path.
        using var listing = parent != null ? Posix.ListDirectoryAt(parent, nameZ!, out var errno) : Posix.ListDirectory(pathZ, out errno);
        if (listing == null)
        {
            // A link to a folder that cannot be listed, or a folder removed meanwhile: Cedar lists nothing.
            _unreadable(PosixPath.Decode(path), "directory", errno);
            if (includeSelf && parent == null && Posix.LStat(pathZ, out _) is { IsSymlink: true } gone) Emit(path, gone, emit);
            return;
        }
        // The listing tells whether the ignore file is there: no extra system call per folder.
        if (_ignoreFile != null && listing.Names.BinarySearch(_ignoreFile, ByteOrder.Instance) >= 0) return;
        if (includeSelf && parent == null && Posix.LStat(pathZ, out _) is { IsSymlink: true } self) Emit(path, self, emit);

        foreach (var name in listing.Names)
        {
            var child = Child(path, name);
            var lstat = listing.LStat(name, out errno);
            if (lstat is not { } l)
            {
                _unreadable(PosixPath.Decode(child), "file", errno);
                continue;
            }
            // Cedar asks isfile/isdir, which follow links: a dangling link is neither and is left out.
            var target = l.IsSymlink ? listing.Stat(name, out _) : l;
            if (target is not { } t) continue;
            if (t.IsRegular)
            {
                if (l.IsSymlink && linkDepth > 0 && dereference && Posix.RealPath(Terminated(child)) is { } real)
                    EmitIfIncluded(real, null, emit);
                EmitIfIncluded(child, l, emit);
            }
            else if (t.IsDirectory)
            {
                if (!l.IsSymlink) Walk(child, includeSelf: true, linkDepth - 1, dereference, emit, listing, name);
                else if (linkDepth <= 0) EmitIfIncluded(child, l, emit);
                else if (dereference)
                {
                    if (Posix.RealPath(Terminated(child)) is { } real && !real.AsSpan().SequenceEqual(child))
                        Walk(real, includeSelf: true, linkDepth - 1, dereference, emit);
                    EmitIfIncluded(child, l, emit);
                }
                else Walk(child, includeSelf: false, linkDepth - 1, dereference, emit);
            }
        }
    }

    private void EmitIfIncluded(byte[] path, PosixStat? known, Action<WalkEntry> emit)
    {
        if (IsExcluded(path)) return;
        var s = known ?? Posix.LStat(Terminated(path), out _);
        if (s is { } stat) Emit(path, stat, emit);
    }

    private void Emit(byte[] path, PosixStat stat, Action<WalkEntry> emit)
    {
        if (_added != null && !_added.Add(PosixPath.Decode(path))) return;
        emit(new WalkEntry(path, stat));
    }

    /// <summary>parent + "/" + name (name NUL-terminated, the result not).</summary>
    private static byte[] Child(byte[] parent, byte[] nameZ)
    {
        var slash = parent.Length > 0 && parent[^1] == (byte)'/' ? 0 : 1;
        var child = new byte[parent.Length + slash + nameZ.Length - 1];
        parent.CopyTo(child, 0);
        if (slash == 1) child[parent.Length] = (byte)'/';
        nameZ.AsSpan(0, nameZ.Length - 1).CopyTo(child.AsSpan(parent.Length + slash));
        return child;
    }

    private static byte[] Terminated(byte[] path)
    {
        var z = new byte[path.Length + 1];
        path.CopyTo(z, 0);
        return z;
    }

    private bool IsExcluded(byte[] path)
    {
        if (_excludePaths.Count == 0 && _excludePatterns.Count == 0) return false;
        var name = PosixPath.Decode(path);
        if (_excludePaths.Contains(name)) return true;
        foreach (var p in Patterns())
            if (p.IsMatch(name)) return true;
        return false;
    }

    /// <summary>Paths checked before the patterns are compiled to IL: compiling costs a small tree's walk several times over.</summary>
    internal const int CompilePatternsAfter = 4096;

    /// <summary>The patterns the walk matches with now (tests).</summary>
    internal IReadOnlyList<Regex> PatternsInUse => _excludePatterns;

    private IReadOnlyList<Regex> Patterns()
    {
        if (_patternChecks < CompilePatternsAfter && Interlocked.Increment(ref _patternChecks) == CompilePatternsAfter)
            _excludePatterns = _excludePatterns.Select(p => (p.Options & RegexOptions.Compiled) != 0 ? p
                : new Regex(p.ToString(), p.Options | RegexOptions.Compiled, p.MatchTimeout)).ToArray();
        return _excludePatterns;
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
    }
}

/// <summary>
/// The order the walker hands out entries in, and the order of the incremental state: paths compared by
/// their bytes with '/' lower than any other byte, i.e. component by component, a folder's contents
/// right after the folder's name and before a sibling that extends that name ("a/x" before "a-b").
/// </summary>
public static class WalkOrder
{
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var common = a.CommonPrefixLength(b);
        if (common == a.Length || common == b.Length) return a.Length.CompareTo(b.Length);
        int x = a[common], y = b[common];
        if (x == '/') x = 0;
        if (y == '/') y = 0;
        return x.CompareTo(y);
    }
}
