using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Listing, opening and reading links by the exact bytes of their names (see <see cref="PosixPath"/>).</summary>
public static unsafe partial class Posix
{
    [DllImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    private static extern IntPtr fdopendir_native(int fd);

    [DllImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static extern IntPtr readdir_native(IntPtr dir);

    [DllImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static extern int closedir_native(IntPtr dir);

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int openat_native(int dirfd, byte* path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static extern int fstat_native(int fd, byte* buf);

    [DllImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static extern nint readlink_native(byte* path, byte* buf, nint size);

    private const int ReadOnly = 0;
    private const int NoFollow = 0x20000;   // O_NOFOLLOW
    private const int NonBlocking = 0x800;  // O_NONBLOCK: a fifo swapped in after the lstat does not hang the run
    private const int CloseOnExec = 0x80000;
    private const int NameOffset = 19;      // struct dirent on 64-bit glibc: d_ino, d_off, d_reclen, d_type, d_name

    /// <summary>
    /// The names in a folder (without "." and ".."), as raw bytes, in byte order. Null with the errno when
    /// the folder cannot be opened or read.
    /// </summary>
    public static List<byte[]>? ReadDirectory(string path, out int errno)
    {
        var fd = OpenDirectory(path);
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
        var names = new List<byte[]>();
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var entry = readdir_native(dir);
                if (entry == IntPtr.Zero)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno != 0) return null;
                    break;
                }
                var name = new ReadOnlySpan<byte>((byte*)entry + NameOffset, 256);
                name = name[..name.IndexOf((byte)0)];
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                names.Add(name.ToArray());
            }
        }
        finally
        {
            closedir_native(dir);
        }
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        errno = 0;
        return names;
    }

    /// <summary>
    /// Opens a file for reading without following a symlink in its last component and without blocking on
    /// a fifo. Null with the errno on failure.
    /// </summary>
    public static SafeFileHandle? OpenRead(string path, out int errno)
    {
        int fd;
        fixed (byte* p = PosixPath.Encode(path, nulTerminated: true))
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
        for (var size = 256; ; size *= 4)
        {
            var buffer = new byte[size];
            nint n;
            fixed (byte* p = name)
            fixed (byte* b = buffer)
                n = readlink_native(p, b, size);
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
    }
}
