using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// What BackupBuild writes holds secrets (archives of /etc, database dumps, staged copies): it is created owner-only
/// whatever the umask the run started with. Every task runs under umask 077 (<see cref="RestrictUmask"/>, entered by
/// <see cref="BackupTask"/>), so files come out 0600 and folders 0700, and programs the tasks start (rsync, tar,
/// xorriso, git, database dumps) inherit it. The roots BackupBuild creates (CollectDir, WorkingDir, StagingDir, the
/// request roots, the log and image folders) are 0750 with the group of the folder they are made in, as
/// docs/deploy.md sets up /var/lib/backupbuild; BackupGroup is given read access afterwards by ApplyBackupOwnership.
/// </summary>
public static partial class PrivateFiles
{
    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint umask_native(uint mask);

    /// <summary>The umask of every task: nothing for group and others.</summary>
    public const uint OwnerOnlyUmask = 0x3F;   // 077

    /// <summary>The mode of a root folder BackupBuild creates (docs/deploy.md): owner, and the group to enter and list.</summary>
    public const uint RootFolderMode = 0x1E8;  // 0750

    private const uint SetGroupId = 0x400;     // S_ISGID

    private static readonly object UmaskLock = new();
    private static int _active;
    private static uint _saved;
    private static bool _kept;

    /// <summary>
    /// Sets the process umask to 077 until the returned scope is disposed. The umask is per process: while any
    /// task holds a scope it stays 077; the last one out puts back what was there before the first came in
    /// (unless <see cref="KeepOwnerOnlyUmask"/> made 077 the process's own).
    /// </summary>
    public static IDisposable RestrictUmask()
    {
        lock (UmaskLock)
        {
            var previous = umask_native(OwnerOnlyUmask);
            if (_active++ == 0) _saved = previous;
        }
        return new Scope();
    }

    /// <summary>Makes 077 the umask of the whole process (the build's): MSBuild's own tasks (Exec, Copy) in a backup's targets write owner-only too.</summary>
    public static void KeepOwnerOnlyUmask()
    {
        lock (UmaskLock)
        {
            _kept = true;
            _saved = OwnerOnlyUmask;
            umask_native(OwnerOnlyUmask);
        }
    }

    private sealed class Scope : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            lock (UmaskLock)
            {
                if (--_active == 0 && !_kept) umask_native(_saved);
            }
        }
    }

    /// <summary>
    /// Creates a root folder and any missing parents (mkdir -p). Each folder it creates is mode 0750 and takes the group
    /// of the folder it is made in (as below a setgid folder), so a group given to /var/lib/backupbuild carries over;
    /// folders that exist are left exactly as they are. Throws IOException as Directory.CreateDirectory does.
    /// </summary>
    public static void CreateRoot(string path)
    {
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (var p = Path.TrimEndingDirectorySeparator(full); !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            if (Posix.Stat(p, out _) != null) break;
            missing.Push(p);
        }
        while (missing.Count > 0)
        {
            var folder = missing.Pop();
            if (!Posix.MakeDirectory(folder, RootFolderMode, out var errno))
            {
                // Made meanwhile by a concurrent run: it is theirs, as it is.
                if (Posix.Stat(folder, out _) is { IsDirectory: true }) continue;
                throw new IOException($"Could not create the folder \"{folder}\": {Posix.ErrorText(errno)}");
            }
            var made = Posix.LStat(folder, out _);
            var parent = Posix.Stat(Path.GetDirectoryName(folder)!, out _);
            if (made is not { IsDirectory: true } m) continue;
            // The umask took the group bits away: set them exactly (keeping a setgid bit the parent passed on).
            Posix.ChangeMode(folder, RootFolderMode | (m.Mode & SetGroupId), out _);
            if (parent is { } pa && pa.Gid != m.Gid) Posix.LChown(folder, uint.MaxValue, pa.Gid, out _); // not ours to give: it keeps ours
        }
        if (Posix.Stat(full, out var err) is not { IsDirectory: true })
            throw new IOException($"Could not create the folder \"{full}\": {(err == 0 ? "it is not a folder" : Posix.ErrorText(err))}");
    }

    /// <summary>
    /// Takes every group and other permission away from <paramref name="path"/> and, for a folder, everything in it
    /// (symlinks are left alone, never followed): for copies made by programs that set the source's modes
    /// (scp -p, rsync -p), in a folder of ours that no one else can enter yet. Returns the failures (path, error).
    /// </summary>
    public static List<(string Path, string Error)> RestrictTree(string path)
    {
        var failures = new List<(string, string)>();
        void One(string p)
        {
            var stat = Posix.LStat(p, out var errno);
            if (stat == null) { failures.Add((p, Posix.ErrorText(errno))); return; }
            if (ChangeModeNoFollow(p, mode => mode & 0x1C0) is { } error) failures.Add((p, error));
            if (!stat.Value.IsDirectory) return;
            var names = Posix.ReadDirectory(p, out errno);
            if (names == null) { failures.Add((p, Posix.ErrorText(errno))); return; }
            foreach (var name in names) One(Path.Combine(p, PosixPath.Decode(name)));
        }
        One(path);
        return failures;
    }

    /// <summary>
    /// Sets the mode of a regular file or folder to <paramref name="change"/>(its mode) through the file itself: opened
    /// without following a symlink, its type and mode taken from the opened file (fstat), then fchmod. Symlinks and special
    /// files are left alone (never opened). Null on success, else the error text.
    /// </summary>
    public static string? ChangeModeNoFollow(string path, Func<uint, uint> change)
    {
        if (Posix.LStat(path, out var errno) is not { } before) return Posix.ErrorText(errno);
        if (!before.IsRegular && !before.IsDirectory) return null;
        using var handle = Posix.OpenRead(path, out errno);
        if (handle == null) return errno == Errno.Loop ? null : Posix.ErrorText(errno); // swapped for a symlink: not ours to change
        if (Posix.FStat(handle, out errno) is not { } s) return Posix.ErrorText(errno);
        if (!s.IsRegular && !s.IsDirectory) return null;
        var mode = change(s.Permissions);
        return mode == s.Permissions || Posix.FChmod(handle, mode, out errno) ? null : Posix.ErrorText(errno);
    }

    /// <summary>The mode for what BackupGroup may read: the owner's read (and enter/execute) bits also for the group, nothing for others.</summary>
    public static uint GroupReadable(uint permissions) => (permissions & 0x1C0) | ((permissions & 0x140) >> 3);
}
