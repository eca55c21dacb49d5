using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>A failed system call while writing a member: the call, the path (for messages) and the errno.</summary>
internal class ExtractFailure : Exception
{
    public ExtractFailure(string call, string path, int errno)
        : base($"{call} {PosixPath.Display(path)}: {Posix.ErrorText(errno)}")
    {
        Errno = errno;
    }

    public int Errno { get; }

    /// <summary>
    /// True when the failure belongs to the member (a name the file system refuses, too many links...), so the
    /// member is skipped with a warning; false when it is the destination's (full, read-only, no permission,
    /// I/O error), which is an error: the restore is not complete until it is fixed and run again.
    /// </summary>
    public bool MemberSpecific => Errno is Beneath.ENAMETOOLONG or Beneath.ELOOP or Beneath.EINVAL or Beneath.EILSEQ
        or Beneath.EMLINK or Beneath.ENOTDIR or Beneath.EISDIR;
}

/// <summary>
/// The member's name was found taken only when the finished file was to be renamed to it (RENAME_NOREPLACE), in a folder
/// this run made and so did not look into first: an existing file (<see cref="SafeExtractor.Outcome.Exists"/>) or a folder
/// (<see cref="SafeExtractor.Outcome.InTheWay"/>). The temporary file is gone; nothing was replaced.
/// </summary>
internal sealed class NameTaken : ExtractFailure
{
    public NameTaken(string path, bool folder)
        : base("rename", path, Beneath.EEXIST)
    {
        Path = path;
        IsFolder = folder;
    }

    /// <summary>The member's full path, for messages.</summary>
    public string Path { get; }

    public bool IsFolder { get; }
}

/// <summary>
/// A folder held open (a directory file descriptor): every file Restore writes is created relative to one,
/// with the *at system calls, so nothing that happens to the path above it afterwards (a folder swapped for a
/// symbolic link) changes where the file goes.
/// </summary>
internal sealed class HeldFolder : IDisposable
{
    public HeldFolder(int fd, string path, string relative = "")
    {
        Fd = fd;
        Path = path;
        Relative = relative;
    }

    /// <summary>The folder's path beneath the destination ("" for the destination itself).</summary>
    public string Relative { get; }

    public int Fd { get; private set; }

    /// <summary>The folder's path for messages (destination + relative path); never used to open anything.</summary>
    public string Path { get; }

    public void Dispose()
    {
        if (Fd >= 0) Beneath.Close(Fd);
        Fd = -1;
    }
}

/// <summary>
/// The system calls Restore makes beneath its destination. Folders are resolved beneath a folder held open,
/// never following a symbolic link: one openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS where the kernel has
/// it (Linux 5.6), else openat(2) one component at a time with O_NOFOLLOW|O_DIRECTORY. Files are created
/// under a temporary name (<see cref="TempPrefix"/>) and renamed to their final name when complete.
/// </summary>
internal static unsafe class Beneath
{
    /// <summary>Restore's temporary names: ".bkp-tmp-restore-" and 16 hex digits of the SHA-256 of the final name.</summary>
    public const string TempPrefix = AtomicFile.TempPrefix + "restore-";

    public const int EPERM = 1, ENOENT = 2, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EMLINK = 31,
        ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, EILSEQ = 84;

    private const int ORdOnly = 0, OWrOnly = 0x1, OCreat = 0x40, OExcl = 0x80, ONonBlock = 0x800,
        OCloExec = OpenFlags.CloseOnExec;
    private static readonly int ODirectory = OpenFlags.Directory, ONoFollow = OpenFlags.NoFollow;
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtRemoveDir = 0x200;
    private const uint RenameNoReplace = 1;

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int openat(int dirfd, byte* path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static extern int dup(int fd);

    [DllImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static extern int mkdirat(int dirfd, byte* path, uint mode);

    [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static extern int unlinkat(int dirfd, byte* path, int flags);

    [DllImport("libc", EntryPoint = "renameat", SetLastError = true)]
    private static extern int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);

    [DllImport("libc", EntryPoint = "linkat", SetLastError = true)]
    private static extern int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);

    [DllImport("libc", EntryPoint = "symlinkat", SetLastError = true)]
    private static extern int symlinkat(byte* target, int newdirfd, byte* linkpath);

    [DllImport("libc", EntryPoint = "fchownat", SetLastError = true)]
    private static extern int fchownat(int dirfd, byte* path, uint owner, uint group, int flags);

    [DllImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static extern int utimensat(int dirfd, byte* path, long* times, int flags);

    [DllImport("libc", EntryPoint = "fstatat", SetLastError = true)]
    private static extern int fstatat(int dirfd, byte* path, byte* buf, int flags);

    [DllImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    private static extern nint readlinkat(int dirfd, byte* path, byte* buf, nint size);

    [DllImport("libc", EntryPoint = "write", SetLastError = true)]
    private static extern nint write(int fd, byte* buf, nint count);

    [DllImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static extern int syncfs(int fd);

    [DllImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static extern IntPtr fdopendir(int fd);

    [DllImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static extern IntPtr readdir(IntPtr dir);

    [DllImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static extern int closedir(IntPtr dir);

    /// <summary>True while openat2 is used (<see cref="DirectoryHandle.UseOpenat2"/>); tests turn it off to run the per-component fallback.</summary>
    internal static bool UseOpenat2
    {
        get => DirectoryHandle.UseOpenat2;
        set => DirectoryHandle.UseOpenat2 = value;
    }

    private static int Errno() => Marshal.GetLastPInvokeError();

    public static void Close(int fd) => close(fd);

    /// <summary>Opens a folder by its path as given (the destination itself: the administrator's choice). -1 with the errno.</summary>
    public static int OpenRoot(string path, out int errno)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true)) fd = openat(AtFdCwd, p, ORdOnly | ODirectory | OCloExec, 0);
        errno = fd < 0 ? Errno() : 0;
        return fd;
    }

    public static int Dup(int fd, out int errno)
    {
        var d = dup(fd);
        errno = d < 0 ? Errno() : 0;
        return d;
    }

    /// <summary>
    /// Opens the folder <paramref name="relative"/> (components joined by '/', no "." or "..") beneath
    /// <paramref name="dirFd"/> without following any symbolic link. -1 with the errno (ELOOP: a link on the way).
    /// </summary>
    public static int OpenFolder(int dirFd, string relative, out int errno) =>
        DirectoryHandle.OpenFolderBeneath(dirFd, PosixPath.Encode(relative, nulTerminated: true), out errno);

    /// <summary>
    /// The same folder as <paramref name="dirFd"/> through an open file description of its own (openat "."), not a
    /// duplicate: syncfs reports a write-back error once per open file description, so a flush made through this one
    /// does not take an error away from the final syncfs through <paramref name="dirFd"/>. -1 with the errno.
    /// </summary>
    public static int Reopen(int dirFd, out int errno)
    {
        int fd;
        fixed (byte* p = ".\0"u8) fd = openat(dirFd, p, ORdOnly | ODirectory | OCloExec, 0);
        errno = fd < 0 ? Errno() : 0;
        return fd;
    }

    /// <summary>syncfs(2): everything written to the file system holding <paramref name="fd"/> reaches the disk. False with the errno.</summary>
    public static bool SyncFileSystem(int fd, out int errno) => Result(syncfs(fd), out errno);

    /// <summary>mkdirat(2): a new folder (0777 less the umask). False with the errno (EEXIST when anything has the name).</summary>
    public static bool MakeFolder(int dirFd, string name, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true)) return Result(mkdirat(dirFd, p, 0x1FF), out errno);
    }

    /// <summary>fstatat(2) of a name in a held folder, a symbolic link not followed.</summary>
    public static PosixStat? LStat(int dirFd, string name, out int errno) => LStat(dirFd, PosixPath.Encode(name, nulTerminated: true), out errno);

    private static PosixStat? LStat(int dirFd, byte[] nameZ, out int errno)
    {
        var buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = nameZ) rc = fstatat(dirFd, p, buf, AtSymlinkNoFollow);
        if (rc != 0)
        {
            errno = Errno();
            return null;
        }
        // fstatat with an empty name is not used; the fstat of an open file gives the same buffer layout.
        errno = 0;
        return StatOf(buf);
    }

    private static PosixStat StatOf(byte* b) => RuntimeInformation.ProcessArchitecture == Architecture.X64
        ? new(Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(ulong*)(b + 16), Mode: *(uint*)(b + 24), Uid: *(uint*)(b + 28), Gid: *(uint*)(b + 32),
            Size: *(long*)(b + 48), AtimeSeconds: *(long*)(b + 72), MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96),
            CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112))
        : new(Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(uint*)(b + 20), Mode: *(uint*)(b + 16), Uid: *(uint*)(b + 24), Gid: *(uint*)(b + 28),
            Size: *(long*)(b + 48), AtimeSeconds: *(long*)(b + 72), MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96),
            CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112));

    /// <summary>A new file in a held folder (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600). -1 with the errno.</summary>
    public static int CreateFile(int dirFd, string name, out int errno)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true))
            fd = openat(dirFd, p, OWrOnly | OCreat | OExcl | ONoFollow | OCloExec, 0x180);
        errno = fd < 0 ? Errno() : 0;
        return fd;
    }

    /// <summary>Opens a file in a held folder for reading (O_NOFOLLOW, O_NONBLOCK). -1 with the errno.</summary>
    public static int OpenFileRead(int dirFd, string name, out int errno)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true))
            fd = openat(dirFd, p, ORdOnly | ONoFollow | ONonBlock | OCloExec, 0);
        errno = fd < 0 ? Errno() : 0;
        return fd;
    }

    /// <summary>Writes all of <paramref name="data"/>; false with the errno (ENOSPC...).</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = write(fd, p + done, data.Length - done);
                if (n < 0)
                {
                    errno = Errno();
                    if (errno == 4 /* EINTR */) continue;
                    return false;
                }
                if (n == 0)
                {
                    errno = 28; // ENOSPC: write(2) made no progress
                    return false;
                }
                done += (int)n;
            }
        }
        errno = 0;
        return true;
    }

    /// <summary>unlinkat(2) of a file or link (never a folder, never what a link points at).</summary>
    public static bool Unlink(int dirFd, string name, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true)) return Result(unlinkat(dirFd, p, 0), out errno);
    }

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/> in one held folder. Without <paramref name="replace"/>
    /// an existing <paramref name="to"/> is never replaced (RENAME_NOREPLACE, or link+unlink where the file
    /// system lacks it): false with EEXIST.
    /// </summary>
    public static bool Rename(int dirFd, string from, string to, bool replace, out int errno)
    {
        fixed (byte* f = PosixPath.Encode(from, nulTerminated: true))
        fixed (byte* t = PosixPath.Encode(to, nulTerminated: true))
        {
            if (replace) return Result(renameat(dirFd, f, dirFd, t), out errno);
            if (Result(renameat2(dirFd, f, dirFd, t, RenameNoReplace), out errno)) return true;
            if (errno != EINVAL && errno != ENOSYS) return false;
            // No RENAME_NOREPLACE here: a hard link fails with EEXIST the same way, then the temporary name goes.
            if (!Result(linkat(dirFd, f, dirFd, t, 0), out errno)) return false;
            unlinkat(dirFd, f, 0);
            return true;
        }
    }

    /// <summary>linkat(2) without following a link: <paramref name="to"/> in one held folder becomes another name of <paramref name="from"/> in another.</summary>
    public static bool Link(int fromDirFd, string from, int toDirFd, string to, out int errno)
    {
        fixed (byte* f = PosixPath.Encode(from, nulTerminated: true))
        fixed (byte* t = PosixPath.Encode(to, nulTerminated: true))
            return Result(linkat(fromDirFd, f, toDirFd, t, 0), out errno);
    }

    /// <summary>symlinkat(2): a link <paramref name="name"/> in a held folder holding exactly <paramref name="target"/>'s bytes.</summary>
    public static bool Symlink(string target, int dirFd, string name, out int errno)
    {
        fixed (byte* t = PosixPath.Encode(target, nulTerminated: true))
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true))
            return Result(symlinkat(t, dirFd, p), out errno);
    }

    /// <summary>The owner of a name in a held folder, a link itself (AT_SYMLINK_NOFOLLOW).</summary>
    public static bool LChown(int dirFd, string name, uint uid, uint gid, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true)) return Result(fchownat(dirFd, p, uid, gid, AtSymlinkNoFollow), out errno);
    }

    /// <summary>The modification and access time of a name in a held folder, a link itself.</summary>
    public static bool LSetTimes(int dirFd, string name, long mtime, out int errno)
    {
        var times = stackalloc long[4];
        times[0] = mtime; times[1] = 0; times[2] = mtime; times[3] = 0;
        fixed (byte* p = PosixPath.Encode(name, nulTerminated: true)) return Result(utimensat(dirFd, p, times, AtSymlinkNoFollow), out errno);
    }

    /// <summary>The target a link in a held folder holds, as a name; null when it is not a link.</summary>
    public static string? ReadLink(int dirFd, string name)
    {
        var nameZ = PosixPath.Encode(name, nulTerminated: true);
        for (var size = 256; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            nint n;
            fixed (byte* p = nameZ)
            fixed (byte* b = buffer)
                n = readlinkat(dirFd, p, b, size);
            if (n < 0) return null;
            if (n < size) return PosixPath.Decode(buffer.AsSpan(0, (int)n));
        }
        return null;
    }

    /// <summary>Removes what an earlier run left under Restore's temporary names in a held folder; the names removed.</summary>
    public static List<string> RemoveLeftovers(int dirFd)
    {
        var removed = new List<string>();
        var fd = dup(dirFd);
        if (fd < 0) return removed;
        var dir = fdopendir(fd);
        if (dir == IntPtr.Zero)
        {
            close(fd);
            return removed;
        }
        var prefix = System.Text.Encoding.ASCII.GetBytes(TempPrefix);
        var names = new List<byte[]>();
        try
        {
            // The listing's own position: rewinding the duplicate also rewinds the held descriptor, which is
            // harmless (the held one is used only with *at calls).
            while (readdir(dir) is var entry && entry != IntPtr.Zero)
            {
                var name = new ReadOnlySpan<byte>((byte*)entry + 19, 256);
                name = name[..name.IndexOf((byte)0)];
                if (name.StartsWith(prefix)) names.Add([.. name, 0]);
            }
        }
        finally
        {
            closedir(dir);
        }
        foreach (var nameZ in names)
        {
            int rc;
            fixed (byte* p = nameZ) rc = unlinkat(dirFd, p, 0);
            if (rc == 0) removed.Add(PosixPath.Decode(nameZ.AsSpan(0, nameZ.Length - 1)));
        }
        return removed;
    }

    /// <summary>The temporary name for a final name: recognisable (<see cref="TempPrefix"/>) and the same in every run.</summary>
    public static string TempName(string finalName) =>
        TempPrefix + Convert.ToHexString(SHA256.HashData(PosixPath.Encode(finalName))).ToLowerInvariant()[..16];

    private static bool Result(int rc, out int errno)
    {
        errno = rc == 0 ? 0 : Errno();
        return rc == 0;
    }
}
