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

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long syscall_openat2(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int fsync_native(int fd);

    [DllImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    private static extern nint readlinkat_native(int dirfd, byte* path, byte* buf, nint size);

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags, Mode, Resolve;
    }

    private const ulong ResolveNoMagicLinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08;
    private const long SysOpenat2 = 437; // the same number on every Linux architecture
    private const int NotPermitted = 1, NoSystemCall = 38, CrossDevice = 18;

    private static int _openat2 = 1; // 1: try it; 0: the kernel (or a seccomp filter) does not have it

    /// <summary>True while openat2 is used; tests turn it off to run the per-component fallback.</summary>
    internal static bool UseOpenat2
    {
        get => Volatile.Read(ref _openat2) == 1;
        set => Volatile.Write(ref _openat2, value ? 1 : 0);
    }

    /// <summary>EEXIST: <see cref="CreateNew"/> found something with the name.</summary>
    public const int AlreadyExists = 17;

    internal const int AtCwd = -100;   // AT_FDCWD
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;
    private const int ReadOnly = 0;
    private const int WriteOnly = 0x1;
    private const int Create = 0x40;
    private const int Exclusive = 0x80;
    private const int NonBlocking = 0x800;
    private static readonly int Directory = OpenFlags.Directory;
    private static readonly int NoFollow = OpenFlags.NoFollow;
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

    /// <summary>
    /// Opens the folder <paramref name="relativeZ"/> (NUL-terminated, components joined by '/') beneath
    /// <paramref name="dirFd"/> without following any symbolic link: openat2 with RESOLVE_BENEATH and
    /// RESOLVE_NO_SYMLINKS. Where openat2 is missing (ENOSYS, or EPERM from a seccomp filter; remembered), one
    /// component with openat O_NOFOLLOW|O_DIRECTORY; a path of several components then throws (go one at a time).
    /// -1 with the errno (ELOOP: a link on the way, EXDEV: it leads out).
    /// </summary>
    internal static int OpenFolderBeneath(int dirFd, byte[] relativeZ, out int errno)
    {
        int fd;
        if (UseOpenat2)
        {
            var how = new OpenHow
            {
                Flags = (ulong)(ReadOnly | Directory | CloseOnExec),
                Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagicLinks,
            };
            long rc;
            fixed (byte* p = relativeZ) rc = syscall_openat2(SysOpenat2, dirFd, p, &how, (nuint)sizeof(OpenHow));
            if (rc >= 0)
            {
                errno = 0;
                return (int)rc;
            }
            errno = Marshal.GetLastPInvokeError();
            if (errno is not (NoSystemCall or NotPermitted)) return -1;
            UseOpenat2 = false; // not in this kernel, or refused by a seccomp filter: one component at a time
        }
        if (relativeZ.AsSpan().IndexOf((byte)'/') >= 0)
            throw new ArgumentException("one component at a time without openat2", nameof(relativeZ));
        fixed (byte* p = relativeZ) fd = openat_native(dirFd, p, ReadOnly | Directory | NoFollow | CloseOnExec, 0);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>
    /// Opens the folder <paramref name="relative"/> (components joined by '/'; empty: this folder again) beneath
    /// this one without following any symbolic link on the way (<see cref="OpenFolderBeneath"/>, one component at
    /// a time where openat2 is missing). Null with the errno: ELOOP when a link is on the way, ENOENT, ENOTDIR, EXDEV.
    /// </summary>
    public DirectoryHandle? OpenBeneath(ReadOnlySpan<byte> relative, out int errno)
    {
        var path = relative.IsEmpty ? Path : Path.TrimEnd('/') + "/" + PosixPath.Decode(relative);
        if (relative.IsEmpty) relative = "."u8;
        using var d = new Fd(_fd);
        if (UseOpenat2)
        {
            var fd = OpenFolderBeneath(d.Value, [.. relative, 0], out errno);
            if (fd >= 0) return new DirectoryHandle(new SafeFileHandle((IntPtr)fd, ownsHandle: true), path);
            if (UseOpenat2) return null;
        }
        var current = d.Value;
        errno = 0;
        for (var rest = relative; !rest.IsEmpty;)
        {
            var cut = rest.IndexOf((byte)'/');
            var part = cut < 0 ? rest : rest[..cut];
            rest = cut < 0 ? default : rest[(cut + 1)..];
            if (part.IsEmpty) continue;
            int next;
            if (part.SequenceEqual(".."u8))
            {
                next = -1;
                errno = CrossDevice; // as openat2 refuses a way out of the folder
            }
            else fixed (byte* p = Z(part)) next = openat_native(current, p, ReadOnly | Directory | NoFollow | CloseOnExec, 0);
            if (next < 0 && errno == 0) errno = Marshal.GetLastPInvokeError();
            if (current != d.Value) close_native(current);
            if (next < 0) return null;
            current = next;
        }
        if (current == d.Value)
        {
            fixed (byte* p = Z("."u8)) current = openat_native(d.Value, p, ReadOnly | Directory | CloseOnExec, 0);
            if (current < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }
        }
        return new DirectoryHandle(new SafeFileHandle((IntPtr)current, ownsHandle: true), path);
    }

    /// <summary>The target of a symlink in this folder (readlinkat: nothing on the way is followed); null with the errno (EINVAL: not a link).</summary>
    public string? ReadLink(ReadOnlySpan<byte> name, out int errno)
    {
        var z = Z(name);
        using var d = new Fd(_fd);
        fixed (byte* p = z)
            return ReadLinkAt(d.Value, p, out errno);
    }

    /// <summary>readlinkat(2) of a NUL-terminated name relative to a folder descriptor (AtCwd: the working folder),
    /// growing the buffer until the target fits; null with the errno (EINVAL: not a link).</summary>
    internal static string? ReadLinkAt(int dirfd, byte* name, out int errno)
    {
        for (var size = 256; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            nint n;
            fixed (byte* b = buffer)
                n = readlinkat_native(dirfd, name, b, size);
            if (n < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }
            if (n < size)
            {
                errno = 0;
                return PosixPath.Decode(buffer.AsSpan(0, (int)n));
            }
        }
        errno = 36; // ENAMETOOLONG
        return null;
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

    /// <summary>
    /// Makes the named files and then the folder's own entries durable (fsync each, opened again beneath this folder
    /// without following a link): nothing is marked done before its data is on disk. False with the name at fault (null:
    /// the folder itself) and the errno.
    /// </summary>
    public bool FlushToDisk(IEnumerable<byte[]> names, out byte[]? failed, out int errno)
    {
        foreach (var name in names)
        {
            using var file = OpenRead(name, out errno);
            if (file == null || !FSync(file, out errno))
            {
                failed = name;
                return false;
            }
        }
        failed = null;
        return FSync(_fd, out errno);
    }

    /// <summary>fsync of a folder's own entries (a rename or a new entry in it made durable); false with the errno.</summary>
    public static bool FlushFolder(string path, out int errno)
    {
        using var folder = Open(path, followLink: true, out errno);
        return folder != null && folder.FlushToDisk(Array.Empty<byte[]>(), out _, out errno);
    }

    private static bool FSync(SafeFileHandle handle, out int errno)
    {
        using var d = new Fd(handle);
        errno = fsync_native(d.Value) == 0 ? 0 : Marshal.GetLastPInvokeError();
        return errno == 0;
    }

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
