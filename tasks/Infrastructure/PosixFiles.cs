using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Listing, opening and reading links by the exact bytes of their names (see <see cref="PosixPath"/>).</summary>
public static unsafe partial class Posix
{
    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static partial IntPtr fdopendir_native(int fd);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial IntPtr readdir_native(IntPtr dir);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static partial int closedir_native(IntPtr dir);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int openat_native(int dirfd, byte* path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int fstat_native(int fd, byte* buf);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static partial IntPtr realpath_native(byte* path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free_native(IntPtr p);

    private const int ReadOnly = 0;
    private static readonly int NoFollow = OpenFlags.NoFollow;
    private const int NonBlocking = 0x800;  // O_NONBLOCK: a fifo swapped in after the lstat does not hang the run
    private const int CloseOnExec = 0x80000;
    private const int NameOffset = 19;      // struct dirent on 64-bit glibc: d_ino, d_off, d_reclen, d_type, d_name

    /// <summary>
    /// The names in a folder (without "." and ".."), as raw bytes, in byte order. Null with the errno when
    /// the folder cannot be opened or read.
    /// </summary>
    public static List<byte[]>? ReadDirectory(string path, out int errno)
    {
        using var listing = ListDirectory(PosixPath.Encode(path, nulTerminated: true), out errno);
        return listing?.Names.Select(n => n[..^1]).ToList();
    }

    /// <summary>
    /// A folder opened for listing and for stating its entries relative to it (one path lookup per file
    /// instead of a full one). Names are NUL-terminated byte arrays in byte order.
    /// </summary>
    public sealed class DirectoryListing : IDisposable
    {
        private IntPtr _dir;
        private readonly int _fd;

        internal DirectoryListing(IntPtr dir, int fd, List<byte[]> names)
        {
            _dir = dir;
            _fd = fd;
            Names = names;
        }

        /// <summary>The open folder's descriptor (valid until disposed).</summary>
        internal int Descriptor => _fd;

        /// <summary>The entries' names, each ending in a NUL byte, sorted by their bytes.</summary>
        public List<byte[]> Names { get; }

        /// <summary>lstat of an entry (its NUL-terminated name).</summary>
        public PosixStat? LStat(byte[] nameZ, out int errno) => StatAt(_fd, nameZ, AtSymlinkNoFollow, out errno);

        /// <summary>stat of an entry, following a symlink.</summary>
        public PosixStat? Stat(byte[] nameZ, out int errno) => StatAt(_fd, nameZ, 0, out errno);

        public void Dispose()
        {
            if (_dir != IntPtr.Zero) closedir_native(_dir);
            _dir = IntPtr.Zero;
        }
    }

    /// <summary>Opens and lists a folder by its NUL-terminated bytes; null with the errno when it cannot be opened or read.</summary>
    public static DirectoryListing? ListDirectory(byte[] pathZ, out int errno)
    {
        int fd;
        fixed (byte* p = pathZ) fd = open_native(p, OpenDirectoryFlags);
        return ListOpened(fd, out errno);
    }

    /// <summary>
    /// Opens and lists the entry <paramref name="nameZ"/> (NUL-terminated, no "/") of an open folder, relative to it and
    /// never through a symlink (O_NOFOLLOW: ELOOP or ENOTDIR when the entry is a link, or was swapped for one since it was
    /// seen); null with the errno when it cannot be opened or read.
    /// </summary>
    public static DirectoryListing? ListDirectoryAt(DirectoryListing parent, byte[] nameZ, out int errno)
    {
        int fd;
        fixed (byte* p = nameZ) fd = openat_native(parent.Descriptor, p, OpenDirectoryFlags | NoFollow, 0);
        return ListOpened(fd, out errno);
    }

    /// <summary>Lists the folder open on <paramref name="fd"/> (-1: its open failed, the errno is read here) and keeps it open.</summary>
    private static DirectoryListing? ListOpened(int fd, out int errno)
    {
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
        var names = ReadSortedNames(dir, withNul: true, out errno);
        if (names == null)
        {
            closedir_native(dir);
            return null;
        }
        return new DirectoryListing(dir, fd, names);
    }

    /// <summary>
    /// Reads every entry of an open DIR stream (without "." and ".."), as raw bytes (each ending in a NUL
    /// when <paramref name="withNul"/>), sorted by their bytes; null with the errno when reading fails.
    /// The caller keeps and closes the stream.
    /// </summary>
    internal static List<byte[]>? ReadSortedNames(IntPtr dir, bool withNul, out int errno)
    {
        var names = new List<byte[]>();
        while (true)
        {
            Marshal.SetLastPInvokeError(0);
            var entry = readdir_native(dir);
            if (entry == IntPtr.Zero)
            {
                errno = Marshal.GetLastPInvokeError();
                if (errno == 0) break;
                return null;
            }
            var name = new ReadOnlySpan<byte>((byte*)entry + NameOffset, 256);
            var length = name.IndexOf((byte)0);
            if (length == 1 && name[0] == (byte)'.' || length == 2 && name[0] == (byte)'.' && name[1] == (byte)'.') continue;
            names.Add(name[..(withNul ? length + 1 : length)].ToArray());
        }
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        errno = 0;
        return names;
    }

    /// <summary>lstat by NUL-terminated bytes.</summary>
    public static PosixStat? LStat(byte[] pathZ, out int errno) => StatAt(AtCurrentDirectory, pathZ, AtSymlinkNoFollow, out errno);

    /// <summary>stat by NUL-terminated bytes (follows links).</summary>
    public static PosixStat? Stat(byte[] pathZ, out int errno) => StatAt(AtCurrentDirectory, pathZ, 0, out errno);

    private static PosixStat? StatAt(int dirFd, byte[] nameZ, int flags, out int errno)
    {
        byte* buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = nameZ) rc = fstatat_native(dirFd, p, buf, flags);
        if (rc != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return FromBuffer(buf);
    }

    /// <summary>The canonical path (every link resolved) of NUL-terminated bytes, without the NUL; null when it cannot be resolved.</summary>
    public static byte[]? RealPath(byte[] pathZ)
    {
        IntPtr resolved;
        fixed (byte* p = pathZ) resolved = realpath_native(p, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)resolved).ToArray();
        }
        finally
        {
            free_native(resolved);
        }
    }

    /// <summary>
    /// Opens a file for reading without following a symlink in its last component and without blocking on
    /// a fifo. Null with the errno on failure.
    /// </summary>
    public static SafeFileHandle? OpenRead(string path, out int errno) => OpenRead(PosixPath.Encode(path, nulTerminated: true), out errno);

    /// <summary><see cref="OpenRead(string, out int)"/> by NUL-terminated bytes.</summary>
    public static SafeFileHandle? OpenRead(byte[] pathZ, out int errno)
    {
        int fd;
        fixed (byte* p = pathZ)
            fd = openat_native(AtCurrentDirectory, p, ReadOnly | NoFollow | NonBlocking | CloseOnExec, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }

    /// <summary>A stream over a file opened with <see cref="OpenRead"/>; null with the errno on failure.</summary>
    public static FileStream? OpenReadStream(string path, out int errno, int bufferSize = 1)
    {
        var handle = OpenRead(path, out errno);
        return handle == null ? null : new FileStream(handle, FileAccess.Read, bufferSize);
    }

    /// <summary>fstat of an open file: the facts of what was actually opened.</summary>
    public static PosixStat? FStat(SafeFileHandle handle, out int errno)
    {
        byte* buf = stackalloc byte[256];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fstat_native((int)handle.DangerousGetHandle(), buf) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
        errno = 0;
        return FromBuffer(buf);
    }

    /// <summary>The target a symlink holds, exactly (escaped as a name); null with the errno when it is not a link.</summary>
    public static string? ReadLink(string path, out int errno)
    {
        var name = PosixPath.Encode(path, nulTerminated: true);
        fixed (byte* p = name)
            return DirectoryHandle.ReadLinkAt(DirectoryHandle.AtCwd, p, out errno);
    }
}

/// <summary>The errno values the tasks tell apart (Linux numbering).</summary>
public static class Errno
{
    public const int NoEntry = 2;         // ENOENT
    public const int NotDirectory = 20;   // ENOTDIR
    public const int Loop = 40;           // ELOOP
}
