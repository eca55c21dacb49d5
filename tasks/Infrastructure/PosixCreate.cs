using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Creating, removing and setting the owner, mode and times of files by the exact bytes of their names
/// (see <see cref="PosixPath"/>): what Restore needs to give back a name that is not valid UTF-8 as it was.
/// Every call returns false (or null) with the errno instead of throwing.
/// </summary>
public static unsafe partial class Posix
{
    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true)]
    private static partial int create_mkdir(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true)]
    private static partial int create_unlink(byte* path);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true)]
    private static partial int create_rmdir(byte* path);

    [LibraryImport("libc", EntryPoint = "symlink", SetLastError = true)]
    private static partial int create_symlink(byte* target, byte* path);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static partial int create_lchown(byte* path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int create_fchown(int fd, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int create_fchmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true)]
    private static partial int create_fchmodat(int dirfd, byte* path, uint mode, int flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static partial int create_utimensat(int dirfd, byte* path, long* times, int flags);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int create_futimens(int fd, long* times);

    private const int CreateAtCwd = -100;           // AT_FDCWD
    private const int CreateNoFollowAt = 0x100;     // AT_SYMLINK_NOFOLLOW
    private static readonly int CreateNewFlags =
        0x1 /* O_WRONLY */ | 0x40 /* O_CREAT */ | 0x80 /* O_EXCL */ | OpenFlags.NoFollow | OpenFlags.CloseOnExec;

    /// <summary>mkdir(2) of exactly this name (the umask applies to <paramref name="mode"/>).</summary>
    public static bool MakeDirectory(string path, uint mode, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_mkdir(p, mode), out errno);
    }

    /// <summary>unlink(2): removes a file or a symlink itself (never what a link points at).</summary>
    public static bool Unlink(string path, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_unlink(p), out errno);
    }

    /// <summary>rmdir(2) of an empty folder.</summary>
    public static bool RemoveDirectory(string path, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_rmdir(p), out errno);
    }

    /// <summary>
    /// Creates a new file for writing with O_CREAT|O_EXCL|O_NOFOLLOW: fails (EEXIST) when anything, a
    /// symlink included, already has the name, so nothing is ever written through a link. Null with the errno.
    /// </summary>
    public static SafeFileHandle? CreateNew(string path, uint mode, out int errno)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            fd = openat_native(CreateAtCwd, p, CreateNewFlags, mode);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    /// <summary>A write stream over <see cref="CreateNew"/>; null with the errno on failure.</summary>
    public static FileStream? CreateNewStream(string path, uint mode, out int errno, int bufferSize = 1 << 16)
    {
        var handle = CreateNew(path, mode, out errno);
        return handle == null ? null : new FileStream(handle, FileAccess.Write, bufferSize);
    }

    /// <summary>symlink(2): a link named <paramref name="path"/> holding exactly the bytes of <paramref name="target"/>.</summary>
    public static bool Symlink(string target, string path, out int errno)
    {
        fixed (byte* t = PosixPath.Encode(target, nulTerminated: true))
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_symlink(t, p), out errno);
    }

    /// <summary>lchown(2): the owner of the path itself, a symlink not followed.</summary>
    public static bool LChown(string path, uint uid, uint gid, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_lchown(p, uid, gid), out errno);
    }

    /// <summary>chmod(2) of a path (follows a symlink: use it on folders and files, never on links).</summary>
    public static bool ChangeMode(string path, uint mode, out int errno)
    {
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_fchmodat(CreateAtCwd, p, mode, 0), out errno);
    }

    /// <summary>The modification (and access) time of the path itself, a symlink not followed.</summary>
    public static bool SetTimes(string path, long mtimeSeconds, long mtimeNanos, out int errno)
    {
        var times = stackalloc long[4];
        times[0] = mtimeSeconds; times[1] = mtimeNanos; // atime: as mtime
        times[2] = mtimeSeconds; times[3] = mtimeNanos;
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
            return Result(create_utimensat(CreateAtCwd, p, times, CreateNoFollowAt), out errno);
    }

    /// <summary>fchown(2) of an open file.</summary>
    public static bool FChown(SafeFileHandle handle, uint uid, uint gid, out int errno) =>
        WithFd(handle, fd => create_fchown(fd, uid, gid), out errno);

    /// <summary>fchmod(2) of an open file.</summary>
    public static bool FChmod(SafeFileHandle handle, uint mode, out int errno) =>
        WithFd(handle, fd => create_fchmod(fd, mode), out errno);

    /// <summary>futimens(2): the modification (and access) time of an open file.</summary>
    public static bool FSetTimes(SafeFileHandle handle, long mtimeSeconds, long mtimeNanos, out int errno) =>
        WithFd(handle, fd =>
        {
            var times = stackalloc long[4];
            times[0] = mtimeSeconds; times[1] = mtimeNanos;
            times[2] = mtimeSeconds; times[3] = mtimeNanos;
            return create_futimens(fd, times);
        }, out errno);

    private static bool WithFd(SafeFileHandle handle, Func<int, int> call, out int errno)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Result(call((int)handle.DangerousGetHandle()), out errno);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private static bool Result(int rc, out int errno)
    {
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0;
    }
}
