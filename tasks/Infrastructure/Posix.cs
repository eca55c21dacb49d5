using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>What lstat(2) says about a path: the facts a backup needs and .NET does not expose.</summary>
public readonly record struct PosixStat(
    ulong Device, ulong Inode, uint Mode, uint Uid, uint Gid, long Size,
    long MtimeSeconds, long MtimeNanos, long CtimeSeconds, long CtimeNanos, long AtimeSeconds, ulong Links = 1)
{
    public const uint TypeMask = 0xF000;
    public const uint Regular = 0x8000;
    public const uint Directory = 0x4000;
    public const uint Symlink = 0xA000;

    public bool IsRegular => (Mode & TypeMask) == Regular;
    public bool IsDirectory => (Mode & TypeMask) == Directory;
    public bool IsSymlink => (Mode & TypeMask) == Symlink;
    public uint Permissions => Mode & 0xFFF;
    public DateTimeOffset ModificationTime =>
        DateTimeOffset.FromUnixTimeSeconds(MtimeSeconds).AddTicks(MtimeNanos / 100);
}

/// <summary>Thin calls into the C library for lstat/stat and user and group names.</summary>
public static unsafe partial class Posix
{
    [LibraryImport("libc", EntryPoint = "fstatat", SetLastError = true)]
    private static partial int fstatat_native(int dirfd, byte* path, byte* buf, int flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int open_native(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close_native(int fd);

    private const int AtSymlinkNoFollow = 0x100;
    private const int AtCurrentDirectory = -100;
    private static readonly int OpenDirectoryFlags = OpenFlags.Directory | OpenFlags.CloseOnExec;

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr getpwuid(uint uid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr getgrgid(uint gid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    private static readonly ConcurrentDictionary<uint, string> UserNames = new();
    private static readonly ConcurrentDictionary<uint, string> GroupNames = new();
    private static readonly object NameLock = new();

    public static bool IsRoot => geteuid() == 0;

    /// <summary>lstat: the path itself, a symlink not followed. Null with the errno when it fails.</summary>
    public static PosixStat? LStat(string path, out int errno) => StatAt(AtCurrentDirectory, path, AtSymlinkNoFollow, out errno);

    /// <summary>stat: follows symlinks. Null with the errno when it fails (for example a broken link).</summary>
    public static PosixStat? Stat(string path, out int errno) => StatAt(AtCurrentDirectory, path, 0, out errno);

    private static PosixStat? StatAt(int dirFd, string name, int flags, out int errno) =>
        StatAt(dirFd, PosixPath.Encode(name, nulTerminated: true), flags, out errno);

    private static PosixStat FromBuffer(byte* buf) =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64 ? FromX64(buf) : FromGeneric(buf);

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    // struct stat on x86_64 glibc.
    private static PosixStat FromX64(byte* b) => new(
        Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(ulong*)(b + 16), Mode: *(uint*)(b + 24),
        Uid: *(uint*)(b + 28), Gid: *(uint*)(b + 32), Size: *(long*)(b + 48),
        AtimeSeconds: *(long*)(b + 72),
        MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96),
        CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112));

    // The asm-generic struct stat used by aarch64 and other 64-bit ports.
    private static PosixStat FromGeneric(byte* b) => new(
        Device: *(ulong*)(b + 0), Inode: *(ulong*)(b + 8), Links: *(uint*)(b + 20), Mode: *(uint*)(b + 16),
        Uid: *(uint*)(b + 24), Gid: *(uint*)(b + 28), Size: *(long*)(b + 48),
        AtimeSeconds: *(long*)(b + 72),
        MtimeSeconds: *(long*)(b + 88), MtimeNanos: *(long*)(b + 96),
        CtimeSeconds: *(long*)(b + 104), CtimeNanos: *(long*)(b + 112));

    /// <summary>The user name for a uid, or empty when it has none (tar then stores only the number).</summary>
    public static string UserName(uint uid) => UserNames.GetOrAdd(uid, id => LookUpName(() => getpwuid(id)));

    public static string GroupName(uint gid) => GroupNames.GetOrAdd(gid, id => LookUpName(() => getgrgid(id)));

    private static string LookUpName(Func<IntPtr> lookUp)
    {
        // getpwuid/getgrgid return static storage: one caller at a time. pw_name and gr_name are the first field.
        lock (NameLock)
        {
            var entry = lookUp();
            if (entry == IntPtr.Zero) return "";
            return Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry)) ?? "";
        }
    }
}
