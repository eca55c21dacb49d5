using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Purge;

/// <summary>What a PurgeDirectory must never be or contain (Validate and Purge check the same things).</summary>
public sealed record PurgeGuardContext(
    string? ProjectDirectory, string? CheckoutDirectory, IReadOnlyList<string> CollectDirectories, string? WorkingDir);

/// <summary>
/// Refuses folders that Purge must never empty, by path alone and before anything is listed: the root
/// and the system's folders (also what an empty property makes of "$(Undefined)/x"), a folder holding the
/// project or BackupBuild's checkout, a folder holding a CollectDirectory or the working dir, and a
/// symbolic link. Each check is made on the path as written and on the path with every link resolved.
/// </summary>
public static class PurgeGuard
{
    /// <summary>Folders whose whole tree belongs to the system: nothing in them is ever purged.</summary>
    private static readonly string[] SystemTrees =
    {
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr",
    };

    /// <summary>Parents whose direct children are system folders (/var/lib, /var/log, /home/alice...).</summary>
    private static readonly string[] SystemParents = { "/var", "/home" };

    /// <summary>True when <paramref name="dir"/> (absolute, normalized) is a folder Purge must never touch for the system's sake.</summary>
    public static bool IsSystemFolder(string dir)
    {
        dir = Normalize(dir);
        if (dir == "/" || dir.LastIndexOf('/') == 0) return true; // the root and every top-level folder
        if (SystemTrees.Any(t => IsSameOrBelow(dir, t))) return true;
        var parent = dir[..dir.LastIndexOf('/')];
        return SystemParents.Contains(parent, StringComparer.Ordinal);
    }

    /// <summary>
    /// Checks one folder; every reason is reported through <paramref name="problem"/> (resource, args).
    /// Reads nothing but link metadata (lstat, realpath): never lists the folder.
    /// </summary>
    public static void Check(string configured, string path, PurgeGuardContext context, Action<string, object[]> problem)
    {
        path = Normalize(path);
        var forms = new List<string> { path };
        if (Posix.LStat(path, out _) is { IsSymlink: true })
            problem("Purge.RefuseSymlink", new object[] { configured });
        if (Real(path) is { } real && real != path) forms.Add(real);

        if (forms.FirstOrDefault(IsSystemFolder) is { } system)
        {
            problem("Purge.RefuseSystem", new object[] { configured, system });
            return; // the other reasons add nothing to "never"
        }

        void Protect(string? protectedPath, string resource)
        {
            if (string.IsNullOrWhiteSpace(protectedPath) || !protectedPath.StartsWith('/')) return;
            var protectedForms = new List<string> { Normalize(protectedPath) };
            if (Real(protectedForms[0]) is { } r && r != protectedForms[0]) protectedForms.Add(r);
            if (forms.Any(f => protectedForms.Any(p => IsSameOrBelow(p, f))))
                problem(resource, new object[] { configured, protectedForms[0] });
        }

        Protect(context.ProjectDirectory, "Purge.RefuseProject");
        Protect(context.CheckoutDirectory, "Purge.RefuseCheckout");
        foreach (var collect in context.CollectDirectories) Protect(collect, "Purge.RefuseCollectDirectory");
        Protect(context.WorkingDir, "Purge.RefuseWorkingDir");
    }

    /// <summary>A full path without "." / ".." parts, double slashes or a trailing slash ("/" stays "/").</summary>
    public static string Normalize(string path)
    {
        var full = Path.GetFullPath(path);
        while (full.Length > 1 && full.EndsWith('/')) full = full[..^1];
        return full;
    }

    /// <summary>The path with every link resolved, or null when it does not resolve (missing).</summary>
    public static string? Real(string path) =>
        Posix.RealPath(PosixPath.Encode(path, nulTerminated: true)) is { } bytes ? Normalize(PosixPath.Decode(bytes)) : null;

    /// <summary><paramref name="path"/> is <paramref name="folder"/> or lies below it (both normalized).</summary>
    public static bool IsSameOrBelow(string path, string folder) =>
        path == folder || folder == "/" || path.StartsWith(folder + "/", StringComparison.Ordinal);
}
