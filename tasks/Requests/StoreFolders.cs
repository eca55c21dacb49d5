using System.Runtime.InteropServices;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// The server's store (RequestServerRoot) is written only beneath itself. A folder the server writes
/// into is reached from the store's root one name at a time with openat(O_NOFOLLOW|O_DIRECTORY), and
/// a missing one is made with mkdirat beneath the folder just opened: a symlink, or anything that is
/// not a folder, anywhere on the way stops the pull before any program writes there. The names come
/// from requests only after <see cref="IsPlainPath"/> has accepted them.
/// </summary>
internal static unsafe class StoreFolders
{
    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int store_openat(int dirfd, byte* path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static extern int store_mkdirat(int dirfd, byte* path, uint mode);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int store_close(int fd);

    private const int AtCwd = -100;
    private static readonly int OpenFolder = Infrastructure.OpenFlags.Directory | Infrastructure.OpenFlags.CloseOnExec;
    private static readonly int OpenFolderNoFollow = OpenFolder | Infrastructure.OpenFlags.NoFollow;
    private const int ENOENT = 2, EEXIST = 17, ENOTDIR = 20, ELOOP = 40;

    /// <summary>
    /// A path a request may name on the server's side: absolute, no empty, "." or ".." part, no trailing
    /// '/', no control character (the server folder is "…/rsync" + path, so nothing can step out of it).
    /// </summary>
    public static bool IsPlainPath(string path)
    {
        if (path == "/") return true;
        if (!path.StartsWith('/') || path.EndsWith('/') || path.Length > 4000) return false;
        if (path.Any(c => char.IsControl(c) || c == '\\')) return false;
        return path[1..].Split('/').All(part => part.Length > 0 && part != "." && part != "..");
    }

    /// <summary>True when one of the two (plain) paths is the other or inside it.</summary>
    public static bool Overlap(string a, string b) =>
        a == b || a == "/" || b == "/" || a.StartsWith(b + "/", StringComparison.Ordinal) || b.StartsWith(a + "/", StringComparison.Ordinal);

    /// <summary>
    /// Makes sure <paramref name="root"/>/<paramref name="relative"/> is a chain of real folders, creating the
    /// missing ones (mode 0700) beneath the store. Null when it is; else the name at fault and why. The store's
    /// own root is the administrator's and may itself be reached through a link; nothing beneath it may.
    /// </summary>
    public static string? Ensure(string root, string relative, bool create = true)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(root, nulTerminated: true))
            fd = store_openat(AtCwd, p, OpenFolder, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != ENOENT || !create) return $"\"{root}\": {Posix.ErrorText(errno)}";
            Directory.CreateDirectory(root);
            fixed (byte* p = PosixPath.Encode(root, nulTerminated: true))
                fd = store_openat(AtCwd, p, OpenFolder, 0);
            if (fd < 0) return $"\"{root}\": {Posix.ErrorText(Marshal.GetLastPInvokeError())}";
        }
        var path = root.TrimEnd('/');
        try
        {
            foreach (var name in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (name is "." or "..") return $"\"{path}/{name}\" is not a plain name";
                path += "/" + name;
                var bytes = PosixPath.Encode(name, nulTerminated: true);
                int next;
                fixed (byte* n = bytes)
                {
                    next = store_openat(fd, n, OpenFolderNoFollow, 0);
                    if (next < 0 && Marshal.GetLastPInvokeError() == ENOENT && create)
                    {
                        if (store_mkdirat(fd, n, 0x1C0 /* 0700 */) != 0 && Marshal.GetLastPInvokeError() != EEXIST)
                            return $"\"{path}\" cannot be made: {Posix.ErrorText(Marshal.GetLastPInvokeError())}";
                        next = store_openat(fd, n, OpenFolderNoFollow, 0);
                    }
                }
                if (next < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno is ELOOP or ENOTDIR) return $"\"{path}\" is a symbolic link or not a folder";
                    if (errno == ENOENT && !create) return null;
                    return $"\"{path}\": {Posix.ErrorText(errno)}";
                }
                store_close(fd);
                fd = next;
            }
            return null;
        }
        finally
        {
            store_close(fd);
        }
    }

    /// <summary>The prefix rsync's --munge-links gives every symlink it makes: a folder that must not exist.</summary>
    public const string MungePrefix = "/rsyncd-munged/";

    /// <summary>
    /// Rewrites every symlink under <paramref name="folder"/> whose target does not start with the munge prefix
    /// (a mirror made before the server munged links) the way rsync --munge-links would, so that none can be
    /// followed. Never follows a link; returns how many it rewrote.
    /// </summary>
    public static int MungeOldLinks(string folder)
    {
        var count = 0;
        var names = Posix.ReadDirectory(folder, out _);
        if (names == null) return 0;
        foreach (var raw in names)
        {
            var path = folder.TrimEnd('/') + "/" + PosixPath.Decode(raw);
            var st = Posix.LStat(path, out _);
            if (st == null) continue;
            if (st.Value.IsDirectory) count += MungeOldLinks(path);
            else if (st.Value.IsSymlink)
            {
                var target = Posix.ReadLink(path, out _);
                if (target == null || target.StartsWith(MungePrefix, StringComparison.Ordinal)) continue;
                if (Posix.Unlink(path, out _) && Posix.Symlink(MungePrefix + target, path, out _)) count++;
            }
        }
        return count;
    }
}

/// <summary>
/// The mirror roots of one client and one transfer (git or rsync), in data/&lt;client&gt;/&lt;transfer&gt;.roots,
/// one path a line: a path is claimed when its first request is taken in, and a path that is inside
/// another claimed one, or holds one, is refused, so no mirror ever lands in (and is written through)
/// another mirror the client filled.
/// </summary>
internal sealed class MirrorRoots
{
    private readonly string _file;
    private readonly List<string> _roots;

    public MirrorRoots(string dataDir, string transfer)
    {
        _file = Path.Combine(dataDir, transfer + ".roots");
        var st = Posix.LStat(_file, out _);
        _roots = st is { IsRegular: true }
            ? File.ReadAllText(_file).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList()
            : new List<string>();
    }

    public bool Has(string path) => _roots.Contains(path, StringComparer.Ordinal);

    public IReadOnlyList<string> Roots => _roots;

    /// <summary>The claimed root <paramref name="path"/> overlaps, or null.</summary>
    public string? Conflict(string path) => _roots.FirstOrDefault(r => r != path && StoreFolders.Overlap(r, path));

    /// <summary>Claims <paramref name="path"/> (its folder beneath data/&lt;client&gt; must have been checked).</summary>
    public void Add(string path)
    {
        if (Has(path)) return;
        _roots.Add(path);
        AtomicFile.WriteAllBytes(_file, Encoding.UTF8.GetBytes(string.Join("\n", _roots) + "\n"));
    }
}
