using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// A folder opened once and then used for everything beneath it: listing, lstat, opening, creating and
/// renaming its entries by the exact bytes of their names, each relative to the open folder (openat and
/// friends). Whatever happens to the folder's path afterwards (a parent renamed, the folder swapped for a
/// symlink) cannot redirect these calls, and no call follows a symlink in an entry's name.
/// </summary>
public sealed unsafe class DirectoryHandle : IDisposable
{
    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int openat_native(int dirfd, byte* path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "fstatat", SetLastError = true)]
    private static extern int fstatat_native(int dirfd, byte* path, byte* buf, int flags);

    [DllImport("libc", EntryPoint = "renameat", SetLastError = true)]
    private static extern int renameat_native(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static extern int unlinkat_native(int dirfd, byte* path, int flags);

    [DllImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static extern IntPtr fdopendir_native(int fd);

    [DllImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static extern int closedir_native(IntPtr dir);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int close_native(int fd);

    /// <summary>EEXIST: <see cref="CreateNew"/> found something with the name.</summary>
    public const int AlreadyExists = 17;

    private const int AtCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;
    private const int ReadOnly = 0;
    private const int WriteOnly = 0x1;
    private const int Create = 0x40;
    private const int Exclusive = 0x80;
    private const int NonBlocking = 0x800;
    private const int Directory = 0x10000;
    private const int NoFollow = 0x20000;
    private const int CloseOnExec = 0x80000;

    private readonly SafeFileHandle _fd;

    private DirectoryHandle(SafeFileHandle fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <summary>The path the folder was opened by (for messages).</summary>
    public string Path { get; }

    /// <summary>
    /// Opens a folder. With <paramref name="followLink"/> false a symlink as the last component is refused
    /// (ELOOP) instead of followed, and trailing slashes are dropped first so they cannot force a follow.
    /// Null with the errno on failure (ENOENT: absent, ELOOP: a symlink, ENOTDIR: not a folder).
    /// </summary>
    public static DirectoryHandle? Open(string path, bool followLink, out int errno)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
        if (trimmed.Length == 0) trimmed = "/";
        var flags = ReadOnly | Directory | CloseOnExec | (followLink ? 0 : NoFollow);
        int fd;
        fixed (byte* p = PosixPath.Encode(trimmed, nulTerminated: true)) fd = openat_native(AtCwd, p, flags, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new DirectoryHandle(new SafeFileHandle((IntPtr)fd, ownsHandle: true), trimmed);
    }

    /// <summary>The names in the folder (without "." and ".."), as raw bytes without a NUL, in byte order.</summary>
    public List<byte[]>? ReadNames(out int errno)
    {
        // fdopendir takes over the descriptor it is given: hand it a fresh one for this folder.
        int fd;
        var dot = Z("."u8);
        using (var d = new Fd(_fd))
        fixed (byte* p = dot) fd = openat_native(d.Value, p, ReadOnly | Directory | CloseOnExec, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        var dir = fdopendir_native(fd);
        if (dir == IntPtr.Zero)
        {
            errno = Marshal.GetLastPInvokeError();
            close_native(fd);
            return null;
        }
        try
        {
            return Posix.ReadSortedNames(dir, withNul: false, out errno);
        }
        finally
        {
            closedir_native(dir);
        }
    }

    /// <summary>lstat of an entry: a symlink is reported as itself.</summary>
    public PosixStat? LStat(ReadOnlySpan<byte> name, out int errno)
    {
        var buf = stackalloc byte[256];
        int rc;
        var z = Z(name);
        using (var d = new Fd(_fd))
        fixed (byte* p = z) rc = fstatat_native(d.Value, p, buf, AtSymlinkNoFollow);
        if (rc != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return Decode(buf);
    }

    /// <summary>
    /// Opens an entry for reading: never through a symlink (ELOOP), never blocking on a fifo. Take the facts
    /// (type, size, times) from <see cref="Posix.FStat"/> of the handle, not from an earlier lookup.
    /// </summary>
    public SafeFileHandle? OpenRead(ReadOnlySpan<byte> name, out int errno) =>
        OpenAt(name, ReadOnly | NoFollow | NonBlocking | CloseOnExec, 0, out errno);

    /// <summary>Creates a new entry for writing with O_CREAT|O_EXCL|O_NOFOLLOW: fails (EEXIST) when anything has the name.</summary>
    public SafeFileHandle? CreateNew(ReadOnlySpan<byte> name, uint mode, out int errno) =>
        OpenAt(name, WriteOnly | Create | Exclusive | NoFollow | CloseOnExec, mode, out errno);

    /// <summary>renameat within this folder (replaces <paramref name="to"/> if it is a file).</summary>
    public bool Rename(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, out int errno)
    {
        int rc;
        var fz = Z(from);
        var tz = Z(to);
        using (var d = new Fd(_fd))
        fixed (byte* f = fz)
        fixed (byte* t = tz)
            rc = renameat_native(d.Value, f, d.Value, t);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0;
    }

    /// <summary>unlinkat of a file or symlink (never what a link points at), or of an empty folder.</summary>
    public bool Unlink(ReadOnlySpan<byte> name, bool directory, out int errno)
    {
        int rc;
        var z = Z(name);
        using (var d = new Fd(_fd))
        fixed (byte* p = z) rc = unlinkat_native(d.Value, p, directory ? AtRemoveDir : 0);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0;
    }

    public void Dispose() => _fd.Dispose();

    private SafeFileHandle? OpenAt(ReadOnlySpan<byte> name, int flags, uint mode, out int errno)
    {
        int fd;
        var z = Z(name);
        using (var d = new Fd(_fd))
        fixed (byte* p = z) fd = openat_native(d.Value, p, flags, mode);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    /// <summary>The folder's descriptor, kept open (referenced) while a call uses it.</summary>
    private readonly ref struct Fd
    {
        private readonly SafeFileHandle _handle;
        public readonly int Value;

        public Fd(SafeFileHandle handle)
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            _handle = handle;
            Value = (int)handle.DangerousGetHandle();
        }

        public void Dispose() => _handle.DangerousRelease();
    }

    /// <summary>A NUL-terminated copy of a name; a name holding NUL or "/" cannot name an entry of this folder.</summary>
    private static byte[] Z(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.IndexOf((byte)0) >= 0 || name.IndexOf((byte)'/') >= 0)
            throw new ArgumentException("not a single file name", nameof(name));
        var z = new byte[name.Length + 1];
        name.CopyTo(z);
        return z;
    }

    // The stat buffer as Posix decodes it (x86_64 and the generic 64-bit layout).
    private static PosixStat Decode(byte* b) =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64
            ? new(Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(ulong*)(b + 16), Mode: *(uint*)(b + 24),
                Uid: *(uint*)(b + 28), Gid: *(uint*)(b + 32), Size: *(long*)(b + 48), AtimeSeconds: *(long*)(b + 72),
                MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96), CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112))
            : new(Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(uint*)(b + 20), Mode: *(uint*)(b + 16),
                Uid: *(uint*)(b + 24), Gid: *(uint*)(b + 28), Size: *(long*)(b + 48), AtimeSeconds: *(long*)(b + 72),
                MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96), CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112));
}
