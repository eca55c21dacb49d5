using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Purge;

/// <summary>
/// The Purge action: below each PurgeDirectory, removes regular files not used for RetainDays
/// days, every symbolic link, and every folder left empty, with Cedar Backup's rule. The
/// configured folder itself stays.
/// </summary>
public sealed class PurgeFiles : BackupTask
{
    /// <summary>The folders to purge: Include = absolute path; metadata RetainDays (whole days, 0 or more).</summary>
    public ITaskItem[]? PurgeDirectories { get; set; }

    /// <summary>Where the purge lock lives.</summary>
    [Required] public string WorkingDir { get; set; } = "";

    /// <summary>@(BackupRunSettings): the run date Purge acts as of, and how long it waits for another Purge run.</summary>
    public ITaskItem? RunSettings { get; set; }

    /// <summary>The project's folder ($(MSBuildProjectDirectory)): no PurgeDirectory may hold it.</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>BackupBuild's checkout (the folder of targets/ and tasks/): no PurgeDirectory may hold it.</summary>
    public string? CheckoutDirectory { get; set; }

    /// <summary>This machine's CollectDirectory items: no PurgeDirectory may hold one.</summary>
    public ITaskItem[]? CollectDirectories { get; set; }

    /// <summary>The staging dir: its newest day is never purged, whatever the run date says.</summary>
    public string? StagingDir { get; set; }

    /// <summary>This machine's collect dir: what in it the master has not staged is kept (see <see cref="UnstagedCollect"/>).</summary>
    public string? CollectDir { get; set; }

    /// <summary>@(BackupPurgeSettings): PurgeUnstagedCollect, true: purge the collect dir's unstaged files too, by RetainDays alone (with a warning naming them).</summary>
    public ITaskItem? PurgeSettings { get; set; }

    protected override bool Run()
    {
        var problems = 0;
        void Problem(string resource, object[] args)
        {
            Log.LogErrorWithCodeFromResources(resource, args);
            problems++;
        }

        var targets = PurgeItems.Read(PurgeDirectories, Problem);

        // The same parsers, and so the same codes, as Validate.
        var settingsProblems = new Problems();
        Values.AbsolutePath(WorkingDir, "WorkingDir", settingsProblems);
        var run = Settings.RunSettings.Parse(RunSettings, settingsProblems);
        var purge = Settings.PurgeSettings.Parse(PurgeSettings, settingsProblems);
        foreach (var p in settingsProblems.All) Problem(p.ResourceName, p.Arguments);
        var clock = run?.Clock;
        var lockWait = run?.LockWait ?? TimeSpan.Zero;
        var runDate = run?.RunDate;

        // Refused folders fail the whole run before anything is listed or removed.
        var guard = Guard();
        var checkedDirs = new Dictionary<string, PosixStat>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            PurgeGuard.Check(target.Path, target.Path, guard, Problem);
            if (Posix.LStat(target.Path, out _) is { } seen) checkedDirs[target.Path] = seen;
        }

        if (problems > 0 || clock == null || purge == null) return false;
        if (RunDateCheck.AheadOfSystemClock(runDate, clock) is { } systemNow)
            Log.LogWarningWithCodeFromResources("Purge.RunDateAhead", runDate!, systemNow);
        if (targets.Count == 0)
        {
            Detail("Purge.NothingConfigured");
            return true;
        }

        using var purgeLock = ActionLock.Acquire(Path.GetFullPath(WorkingDir), "purge", lockWait, Cancellation);
        var now = new DateTimeOffset(clock.Now).ToUnixTimeSeconds();
        var newestDay = NewestStagedDay.Find(StagingDir);
        var collectDir = !string.IsNullOrWhiteSpace(CollectDir) && CollectDir.StartsWith('/') ? PurgeGuard.Normalize(CollectDir) : null;
        foreach (var target in targets)
        {
            var held = collectDir != null && PurgeGuard.IsSameOrBelow(collectDir, target.Path)
                ? UnstagedCollect.Hold(collectDir, target.RetainDays, now, purge.PurgeUnstagedCollect, Log)
                : null;
            PurgeOne(target, now, checkedDirs.TryGetValue(target.Path, out var s) ? s : null, newestDay, held);
        }
        return !Log.HasLoggedErrors;
    }

    private PurgeGuardContext Guard() => new(
        ProjectDirectory, CheckoutDirectory,
        (CollectDirectories ?? Array.Empty<ITaskItem>()).Select(i => i.ItemSpec).Where(p => p.StartsWith('/')).ToList(),
        WorkingDir);

    private void PurgeOne(PurgeTarget target, long nowUnixSeconds, PosixStat? checkedStat, string? newestDay, IReadOnlySet<string>? held)
    {
        var run = new Walk(target, nowUnixSeconds, newestDay, held);
        if (newestDay != null && PurgeGuard.IsSameOrBelow(target.Path, newestDay))
        {
            Progress("Purge.KeptNewestDay", newestDay);
            Progress("Purge.Summary", target.Path, 0, 0L, 0, 0, target.RetainDays);
            return;
        }

        // The folder is opened once, without following a link, and must still be the one checked; everything
        // below it is reached from that open folder (never by its path again), each level opened without
        // following a link, so a folder swapped for a link during the run leads nowhere outside.
        using var root = Posix.OpenRead(target.Path, out var errno);
        var stat = root == null ? null : Posix.FStat(root, out errno);
        if (root == null || stat is not { IsDirectory: true } now)
        {
            if (errno == Eloop) Log.LogErrorWithCodeFromResources("Purge.RefuseSymlink", target.Path);
            else Log.LogErrorWithCodeFromResources("Purge.DirMissing", target.Path);
            return;
        }
        if (checkedStat is { } before && (before.Device != now.Device || before.Inode != now.Inode))
        {
            Log.LogErrorWithCodeFromResources("Purge.Replaced", target.Path);
            return;
        }

        // Pass 1: files not used for RetainDays days, and every symbolic link (never age-checked).
        PurgeFilesIn(root, target.Path, run);
        // Pass 2: folders, parents before children, so only folders already empty before this pass
        // or emptied of files just now go; a parent of a folder removed now goes at the next purge.
        RemoveEmptyIn(root, target.Path, run);

        if (run.KeptNewestDay) Progress("Purge.KeptNewestDay", newestDay!);
        Progress("Purge.Summary", target.Path, run.FilesRemoved, run.BytesFreed, run.DirsRemoved, run.FilesKept, target.RetainDays);
    }

    private const int Enoent = 2, Eexist = 17, Enotempty = 39, Eloop = 40;

    private sealed class Walk(PurgeTarget target, long now, string? newestDay, IReadOnlySet<string>? held)
    {
        /// <summary>Files of the collect dir the master has not staged (and its vouching cback.stage): never removed.</summary>
        public bool Held(string path) => held != null && held.Contains(path);

        public PurgeTarget Target { get; } = target;
        public long Now { get; } = now;
        public int FilesRemoved, FilesKept, DirsRemoved;
        public long BytesFreed;
        public bool KeptNewestDay;

        /// <summary>The newest staged day (and what is below it) is never purged.</summary>
        public bool Protected(string path)
        {
            if (newestDay == null || !PurgeGuard.IsSameOrBelow(path, newestDay)) return false;
            KeptNewestDay = true;
            return true;
        }
    }

    private void PurgeFilesIn(SafeFileHandle dir, string display, Walk run)
    {
        Cancellation.ThrowIfCancellationRequested();
        using var listing = Posix.ListDirectory(Beneath(dir, null), out var errno);
        if (listing == null)
        {
            Log.LogErrorWithCodeFromResources("Purge.CannotList", display, Posix.ErrorText(errno));
            return;
        }
        foreach (var nameZ in listing.Names)
        {
            Cancellation.ThrowIfCancellationRequested();
            var path = Child(display, nameZ);
            if (run.Protected(path)) continue;
            if (listing.LStat(nameZ, out _) is not { } entry) continue; // gone since the listing
            if (entry.IsRegular)
            {
                if (run.Held(path)) { run.FilesKept++; continue; }
                var age = FileAge.WholeDays(
                    DateTime.UnixEpoch.AddSeconds(entry.AtimeSeconds),
                    DateTime.UnixEpoch.AddTicks(entry.MtimeSeconds * TimeSpan.TicksPerSecond + entry.MtimeNanos / 100),
                    run.Now);
                if (FileAge.IsKept(age, run.Target.RetainDays)) { run.FilesKept++; continue; }
                if (RemoveFile(dir, nameZ, path, age)) { run.FilesRemoved++; run.BytesFreed += entry.Size; }
            }
            else if (entry.IsSymlink)
            {
                if (RemoveFile(dir, nameZ, path, null)) run.FilesRemoved++;
            }
            else if (entry.IsDirectory)
            {
                using var child = OpenDirectoryBeneath(dir, nameZ, entry);
                if (child != null) PurgeFilesIn(child, path, run);
                else Log.LogErrorWithCodeFromResources("Purge.CannotList", path, "it was replaced during the run.");
            }
            else Detail("Purge.LeftSpecial", path);
        }
    }

    private void RemoveEmptyIn(SafeFileHandle dir, string display, Walk run)
    {
        Cancellation.ThrowIfCancellationRequested();
        using var listing = Posix.ListDirectory(Beneath(dir, null), out _);
        if (listing == null) return; // reported by pass 1
        foreach (var nameZ in listing.Names)
        {
            Cancellation.ThrowIfCancellationRequested();
            var path = Child(display, nameZ);
            if (run.Protected(path)) continue;
            if (listing.LStat(nameZ, out _) is not { IsDirectory: true } entry) continue;
            var beneath = Beneath(dir, nameZ);
            if (Posix.RemoveDirectory(PosixPath.Decode(beneath.AsSpan(0, beneath.Length - 1)), out var errno))
            {
                Trace("Purge.RemovedDirectory", path);
                run.DirsRemoved++;
                continue;
            }
            if (errno == Enoent) continue;
            using var child = OpenDirectoryBeneath(dir, nameZ, entry);
            if (child == null) continue;
            // Not empty is the normal case (files kept, or children removed only in this pass): its children get their turn.
            if (errno is Enotempty or Eexist || !IsEmpty(child)) RemoveEmptyIn(child, path, run);
            // An empty folder that cannot go (a mount point, no permission) holds no data: a warning.
            else Log.LogWarningWithCodeFromResources("Purge.CannotRemoveDirectory", path, Posix.ErrorText(errno));
        }
    }

    private static bool IsEmpty(SafeFileHandle dir)
    {
        using var listing = Posix.ListDirectory(Beneath(dir, null), out _);
        return listing is { Names.Count: 0 };
    }

    private bool RemoveFile(SafeFileHandle dir, byte[] nameZ, string path, long? age)
    {
        var beneath = Beneath(dir, nameZ);
        if (!Posix.Unlink(PosixPath.Decode(beneath.AsSpan(0, beneath.Length - 1)), out var errno))
        {
            if (errno == Enoent) return false;
            Log.LogErrorWithCodeFromResources("Purge.CannotRemoveFile", path, Posix.ErrorText(errno));
            return false;
        }
        if (age is { } days) Trace("Purge.RemovedFile", path, days);
        else Trace("Purge.RemovedLink", path);
        return true;
    }

    /// <summary>
    /// A child folder opened from its open parent without following a link, and only when it is still the
    /// folder the listing saw (same device and inode); null otherwise.
    /// </summary>
    private static SafeFileHandle? OpenDirectoryBeneath(SafeFileHandle dir, byte[] nameZ, PosixStat seen)
    {
        var handle = Posix.OpenRead(Beneath(dir, nameZ), out _);
        if (handle == null) return null;
        if (Posix.FStat(handle, out _) is { IsDirectory: true } opened && opened.Device == seen.Device && opened.Inode == seen.Inode)
            return handle;
        handle.Dispose();
        return null;
    }

    /// <summary>
    /// "/proc/self/fd/N/name" (NUL-terminated): the kernel resolves /proc/self/fd/N to the open folder itself,
    /// so the name is looked up in that folder, as openat/unlinkat would, whatever its path has become.
    /// </summary>
    private static byte[] Beneath(SafeFileHandle dir, byte[]? nameZ)
    {
        var prefix = System.Text.Encoding.ASCII.GetBytes(
            "/proc/self/fd/" + dir.DangerousGetHandle().ToInt64().ToString(CultureInfo.InvariantCulture) + (nameZ == null ? "\0" : "/"));
        return nameZ == null ? prefix : [.. prefix, .. nameZ];
    }

    private static string Child(string parent, byte[] nameZ) =>
        (parent == "/" ? "" : parent) + "/" + PosixPath.Decode(nameZ.AsSpan(0, nameZ.Length - 1));
}
