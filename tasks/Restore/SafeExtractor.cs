using System.Runtime.InteropServices;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Writes archive members under one destination folder and nowhere else: absolute names and ".." are refused,
/// every folder on the way is checked with lstat (a symbolic link on the way is refused, whatever it points at),
/// and the member itself is created with O_CREAT|O_EXCL, which never follows a link. An existing file is
/// replaced only with <c>overwrite</c>. Modes and mtimes are restored, owners when running as root.
/// </summary>
internal sealed unsafe class SafeExtractor
{
    [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static extern int lchown(byte* path, uint owner, uint group);

    [DllImport("libc", EntryPoint = "chmod", SetLastError = true)]
    private static extern int chmod(byte* path, uint mode);

    [DllImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static extern int utimensat(int dirfd, byte* path, long* times, int flags);

    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;

    private readonly string _root;
    private readonly bool _overwrite;
    private readonly bool _asRoot;

    public SafeExtractor(string destination, bool overwrite)
    {
        _root = Path.GetFullPath(destination).TrimEnd('/');
        if (_root.Length == 0) _root = "/";
        _overwrite = overwrite;
        _asRoot = Posix.IsRoot;
    }

    public enum Outcome { Written, Unsafe, ThroughSymlink, Exists, InTheWay }

    /// <summary>The member's relative path (segments joined by '/'), or null when the name climbs out or is absolute.</summary>
    public static string? Relative(string memberName)
    {
        if (memberName.Length == 0 || memberName.StartsWith('/') || memberName.Contains('\0')) return null;
        var parts = new List<string>();
        foreach (var part in memberName.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") return null;
            parts.Add(part);
        }
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    public string Target(string relative) => _root == "/" ? "/" + relative : _root + "/" + relative;

    /// <summary>Checks the way to a member and prepares its place; <paramref name="blocker"/> names what stands in the way.</summary>
    public Outcome Prepare(string relative, bool dryRun, out string blocker)
    {
        blocker = "";
        var parts = relative.Split('/');
        var current = _root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = current == "/" ? "/" + parts[i] : current + "/" + parts[i];
            var st = Posix.LStat(current, out _);
            if (st == null)
            {
                if (!dryRun) Directory.CreateDirectory(current);
                continue;
            }
            if (st.Value.IsSymlink)
            {
                blocker = current;
                return Outcome.ThroughSymlink;
            }
            if (!st.Value.IsDirectory)
            {
                blocker = current;
                return Outcome.InTheWay;
            }
        }
        var target = Target(relative);
        var existing = Posix.LStat(target, out _);
        if (existing != null)
        {
            blocker = target;
            if (existing.Value.IsDirectory) return Outcome.InTheWay;
            if (!_overwrite) return Outcome.Exists;
            if (!dryRun) File.Delete(target); // removes a link itself, never what it points at
        }
        return Outcome.Written;
    }

    public void WriteFile(string relative, TarMember m, Stream content)
    {
        var target = Target(relative);
        using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            content.CopyTo(output, 1 << 20);
            output.Flush();
        }
        Owner(target, m);
        Mode(target, m.Mode & 0xFFF);
        Times(target, m.Mtime);
    }

    public void WriteSymlink(string relative, TarMember m)
    {
        var target = Target(relative);
        File.CreateSymbolicLink(target, m.LinkName);
        Owner(target, m);
        Times(target, m.Mtime);
    }

    /// <summary>A hard-link member: a copy of the file restored earlier in this run under <paramref name="sourceRelative"/>.</summary>
    public void WriteCopy(string relative, string sourceRelative, TarMember m)
    {
        var source = Target(sourceRelative);
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read);
        var mode = Posix.LStat(source, out _)?.Permissions ?? 0x1A4;
        WriteFile(relative, m with { Mode = mode, Mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(source)).ToUnixTimeSeconds() }, input);
    }

    private void Owner(string path, TarMember m)
    {
        if (!_asRoot) return;
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (lchown(p, m.Uid, m.Gid) != 0) throw new IOException($"lchown: {Posix.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }

    private static void Mode(string path, uint mode)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (chmod(p, mode) != 0) throw new IOException($"chmod: {Posix.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }

    private static void Times(string path, long mtime)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        var times = stackalloc long[4];
        times[0] = mtime; times[1] = 0; // atime: as mtime
        times[2] = mtime; times[3] = 0;
        fixed (byte* p = bytes)
        {
            if (utimensat(AtCurrentDirectory, p, times, AtSymlinkNoFollow) != 0)
                throw new IOException($"utimensat: {Posix.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }
}
