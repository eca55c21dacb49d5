using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Writes archive members under one destination folder and nowhere else: absolute names and ".." are refused,
/// every folder on the way is checked with lstat (a symbolic link on the way is refused, whatever it points at),
/// and the member itself is created with O_CREAT|O_EXCL, which never follows a link. An existing file is
/// replaced only with <c>overwrite</c>. Modes and mtimes are restored, owners when running as root.
/// Names may be any bytes (<see cref="PosixPath"/>): every call on the file system goes through
/// <see cref="Posix"/> with the exact bytes, never through .NET's file APIs.
/// </summary>
internal sealed class SafeExtractor
{
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
    /// <exception cref="IOException">A folder on the way could not be created or a file in the way not removed.</exception>
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
                if (dryRun) continue;
                if (Posix.MakeDirectory(current, 0x1FF /* 0777, less the umask */, out var errno)) continue;
                st = Posix.LStat(current, out _); // made meanwhile by someone else: check what it is
                if (st == null) throw Failure("mkdir", current, errno);
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
            // Removes a link itself, never what it points at.
            if (!dryRun && !Posix.Unlink(target, out var errno) && errno != Errno.NoEntry) throw Failure("unlink", target, errno);
        }
        return Outcome.Written;
    }

    /// <summary>A new file (O_CREAT|O_EXCL|O_NOFOLLOW: never through a link, never over an existing file) with the member's content, owner, mode and time.</summary>
    public void WriteFile(string relative, TarMember m, Stream content)
    {
        var target = Target(relative);
        using var output = Posix.CreateNewStream(target, 0x180 /* 0600 until the member's mode is set */, out var errno)
            ?? throw Failure("open", target, errno);
        content.CopyTo(output, 1 << 20);
        output.Flush();
        var handle = output.SafeFileHandle;
        if (_asRoot && !Posix.FChown(handle, m.Uid, m.Gid, out errno)) throw Failure("fchown", target, errno);
        if (!Posix.FChmod(handle, m.Mode & 0xFFF, out errno)) throw Failure("fchmod", target, errno);
        if (!Posix.FSetTimes(handle, m.Mtime, 0, out errno)) throw Failure("futimens", target, errno);
    }

    /// <summary>A symbolic link holding exactly the member's target bytes, with its owner (as root) and time.</summary>
    public void WriteSymlink(string relative, TarMember m)
    {
        var target = Target(relative);
        if (!Posix.Symlink(m.LinkName, target, out var errno)) throw Failure("symlink", target, errno);
        if (_asRoot && !Posix.LChown(target, m.Uid, m.Gid, out errno)) throw Failure("lchown", target, errno);
        if (!Posix.SetTimes(target, m.Mtime, 0, out errno)) throw Failure("utimensat", target, errno);
    }

    /// <summary>A hard-link member: a copy of the file restored earlier in this run under <paramref name="sourceRelative"/>.</summary>
    public void WriteCopy(string relative, string sourceRelative, TarMember m)
    {
        var source = Target(sourceRelative);
        using var input = Posix.OpenReadStream(source, out var errno, 1 << 16) ?? throw Failure("open", source, errno);
        var st = Posix.FStat(input.SafeFileHandle, out errno) ?? throw Failure("fstat", source, errno);
        WriteFile(relative, m with { Mode = st.Permissions, Mtime = st.MtimeSeconds }, input);
    }

    /// <summary>Removes what this run wrote at <paramref name="relative"/> (a file or a link), if it is there.</summary>
    public void Remove(string relative)
    {
        var target = Target(relative);
        if (Posix.LStat(target, out _) is { IsDirectory: false } && !Posix.Unlink(target, out var errno) && errno != Errno.NoEntry)
            throw Failure("unlink", target, errno);
    }

    private static IOException Failure(string call, string path, int errno) =>
        new($"{call} {PosixPath.Display(path)}: {Posix.ErrorText(errno)}");
}
