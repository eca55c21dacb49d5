using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// The backup user and group (Cedar's backup_user/backup_group): names resolved to ids, chown and chmod of what
/// BackupBuild wrote. Only root can give files away; other users can only set a group they belong to.
/// </summary>
public static class Ownership
{
    [DllImport("libc", SetLastError = true)]
    private static extern int lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

    [DllImport("libc", SetLastError = true)]
    private static extern int chmod([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr getpwnam([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr getgrnam([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    private static readonly object NameLock = new();

    /// <summary>"Leave it as it is" for <see cref="Change"/>.</summary>
    public const uint Unchanged = uint.MaxValue;

    /// <summary>The uid of a user name (or a number), null when there is no such user.</summary>
    public static uint? UserId(string name)
    {
        if (uint.TryParse(name, out var n)) return n;
        lock (NameLock)
        {
            var entry = getpwnam(name);
            // struct passwd: pw_name, pw_passwd, pw_uid.
            return entry == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        }
    }

    /// <summary>The primary gid of a user name, null when there is no such user.</summary>
    public static uint? UserGroupId(string name)
    {
        lock (NameLock)
        {
            var entry = getpwnam(name);
            // struct passwd: pw_name, pw_passwd, pw_uid, pw_gid.
            return entry == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size + 4);
        }
    }

    /// <summary>The gid of a group name (or a number), null when there is no such group.</summary>
    public static uint? GroupId(string name)
    {
        if (uint.TryParse(name, out var n)) return n;
        lock (NameLock)
        {
            var entry = getgrnam(name);
            // struct group: gr_name, gr_passwd, gr_gid.
            return entry == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        }
    }

    /// <summary>An octal mode such as "640" or "0640"; null when it is not one.</summary>
    public static uint? ParseMode(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var mode = Convert.ToUInt32(text.Trim(), 8);
            return mode <= 0xFFF ? mode : null;
        }
        catch (FormatException) { return null; }
        catch (OverflowException) { return null; }
        catch (ArgumentException) { return null; } // "-640": a sign in base 8
    }

    /// <summary>lchown (symlinks themselves, not their targets); null on success, else the error text.</summary>
    public static string? Change(string path, uint uid, uint gid) =>
        uid == Unchanged && gid == Unchanged ? null
            : lchown(path, uid, gid) == 0 ? null : Posix.ErrorText(Marshal.GetLastPInvokeError());

    /// <summary>chmod; null on success, else the error text.</summary>
    public static string? SetMode(string path, uint mode) =>
        chmod(path, mode) == 0 ? null : Posix.ErrorText(Marshal.GetLastPInvokeError());

    /// <summary>
    /// Gives <paramref name="path"/> and, for a folder, everything below it (symlinks not followed) to uid:gid;
    /// each failure goes to <paramref name="failed"/> and the walk continues, as Cedar logs and goes on. When a group is
    /// given, each file and folder given to it becomes readable (and enterable) by that group and nothing for others
    /// (<see cref="PrivateFiles.GroupReadable"/>): BackupGroup reads what BackupBuild wrote, no one else does.
    /// </summary>
    public static int ChangeTree(string path, uint uid, uint gid, Action<string, string> failed)
    {
        var count = 0;
        void One(string p)
        {
            var error = Change(p, uid, gid);
            if (error == null && gid != Unchanged) error = PrivateFiles.ChangeModeNoFollow(p, PrivateFiles.GroupReadable);
            if (error == null) count++; else failed(p, error);
        }
        One(path);
        var stat = Posix.LStat(path, out _);
        if (stat is { IsDirectory: true })
            foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions
                     { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
                One(entry.FullName);
        return count;
    }
}
