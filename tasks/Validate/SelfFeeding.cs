using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Purge;

namespace BackupBuild.Tasks.Validate;

/// <summary>
/// Configurations that feed on themselves: an output of the backup (the collect dir, the staging dir, the
/// working dir, the disc image) inside what the backup reads. Cedar Backup 3 neither excludes such folders
/// nor complains (each day's archive then holds the previous ones); BackupBuild refuses them with a coded
/// error, in Validate and in the action, before anything is written. Paths are compared as written and
/// with every link resolved.
/// </summary>
public static class SelfFeeding
{
    /// <summary>
    /// BKP1600: an output folder or file lies inside a CollectDirectory and no exclusion (ExcludePaths,
    /// RelativeExcludePaths, ExcludePatterns, an IgnoreFile in it or a parent) keeps Collect out of it.
    /// BKP1603: a CollectFile lies inside an output.
    /// </summary>
    public static void CheckCollected(IEnumerable<CollectSource> sources, IEnumerable<(string Name, string? Path)> outputs,
        Action<string, object[]> problem)
    {
        var outs = outputs.Where(o => IsAbsolute(o.Path)).ToList();
        // Each path is resolved once however many pairs it is in (every collect run checks sources x outputs).
        var resolved = new Resolved();
        foreach (var s in sources)
        foreach (var (name, path) in outs)
        {
            if (s.IsFile)
            {
                if (Inside(s.Path, path!, resolved) != null) problem("Validate.CollectFileInOutput", new object[] { s.Path, name, path! });
            }
            else if (Inside(path!, s.Path, resolved) is { } seen && !Excluded(s, seen))
                problem("Validate.InsideCollected", new object[] { name, path!, s.Path });
        }
    }

    /// <summary>BKP1601: the staging dir is a local peer's collect dir or lies inside it.</summary>
    public static void CheckStaging(string? stagingDir, IEnumerable<(string Peer, string CollectDir)> localPeers,
        Action<string, object[]> problem)
    {
        if (!IsAbsolute(stagingDir)) return;
        foreach (var (peer, collectDir) in localPeers)
            if (IsAbsolute(collectDir) && Inside(stagingDir!, collectDir) != null)
                problem("Validate.StagingInCollectDir", new object[] { stagingDir!, peer, collectDir });
    }

    /// <summary>BKP1602: the disc image lies inside the staging dir or the collect dir.</summary>
    public static void CheckImage(string? imageFile, string? stagingDir, string? collectDir, Action<string, object[]> problem)
    {
        if (!IsAbsolute(imageFile)) return;
        foreach (var (name, dir) in new[] { ("StagingDir", stagingDir), ("CollectDir", collectDir) })
            if (IsAbsolute(dir) && Inside(imageFile!, dir!) != null)
                problem("Validate.ImageInside", new object[] { imageFile!, name, dir! });
    }

    private static bool IsAbsolute(string? path) => !string.IsNullOrWhiteSpace(path) && path.StartsWith('/');

    /// <summary>
    /// When <paramref name="path"/> is <paramref name="folder"/> or below it (as written, or with links resolved),
    /// the path as a walk of <paramref name="folder"/> (as written) meets it; otherwise null.
    /// </summary>
    private static string? Inside(string path, string folder, Resolved? resolved = null)
    {
        var p = PurgeGuard.Normalize(path);
        var f = PurgeGuard.Normalize(folder);
        if (PurgeGuard.IsSameOrBelow(p, f)) return p;
        var realFolder = resolved != null ? resolved.Real(f) : PurgeGuard.Real(f);
        var realPath = resolved != null ? resolved.RealOfNearest(p) : RealOfNearest(p);
        if (realFolder == null || realPath == null || !PurgeGuard.IsSameOrBelow(realPath, realFolder)) return null;
        return realPath == realFolder ? f : (f == "/" ? "" : f) + realPath[(realFolder == "/" ? 0 : realFolder.Length)..];
    }

    /// <summary>Paths resolved so far (realpath walks every component with lstat): each one once per check.</summary>
    private sealed class Resolved
    {
        private readonly Dictionary<string, string?> _real = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string?> _nearest = new(StringComparer.Ordinal);

        public string? Real(string path)
        {
            if (!_real.TryGetValue(path, out var r)) _real[path] = r = PurgeGuard.Real(path);
            return r;
        }

        public string? RealOfNearest(string path)
        {
            if (!_nearest.TryGetValue(path, out var r)) _nearest[path] = r = SelfFeeding.RealOfNearest(path);
            return r;
        }
    }

    /// <summary>The resolved path of a path that may not exist yet: its nearest existing parent resolved, the rest appended.</summary>
    private static string? RealOfNearest(string path)
    {
        var rest = "";
        var existing = path;
        while (true)
        {
            if (PurgeGuard.Real(existing) is { } real) return rest.Length == 0 ? real : (real == "/" ? "" : real) + rest;
            if (existing == "/") return null;
            var cut = existing.LastIndexOf('/');
            rest = existing[cut..] + rest;
            existing = cut == 0 ? "/" : existing[..cut];
        }
    }

    /// <summary>Whether Collect's walk of <paramref name="source"/> stops before it reaches <paramref name="inside"/>.</summary>
    private static bool Excluded(CollectSource source, string inside)
    {
        var root = PurgeGuard.Normalize(source.Path);
        var chain = new List<string> { root };
        var tail = inside.Length > root.Length ? inside[(root == "/" ? 1 : root.Length + 1)..] : "";
        var current = root;
        foreach (var part in tail.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = current == "/" ? "/" + part : current + "/" + part;
            chain.Add(current);
        }
        foreach (var dir in chain)
        {
            if (source.ExcludePaths.Contains(dir, StringComparer.Ordinal)) return true;
            if (source.ExcludePatterns.Any(p => p.IsMatch(dir))) return true;
            if (source.IgnoreFile.Length > 0 && Posix.LStat(Path.Combine(dir, source.IgnoreFile), out _) != null) return true;
        }
        return false;
    }
}
