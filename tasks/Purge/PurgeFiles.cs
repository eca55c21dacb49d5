using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

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

    /// <summary>Act as of this local date and time (BackupRunDate); empty means now.</summary>
    public string? RunDate { get; set; }

    /// <summary>Seconds to wait for another Purge run to finish.</summary>
    public string? LockWaitSeconds { get; set; }

    /// <summary>The project's folder ($(MSBuildProjectDirectory)): no PurgeDirectory may hold it.</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>BackupBuild's checkout (the folder of targets/ and tasks/): no PurgeDirectory may hold it.</summary>
    public string? CheckoutDirectory { get; set; }

    /// <summary>This machine's CollectDirectory items: no PurgeDirectory may hold one.</summary>
    public ITaskItem[]? CollectDirectories { get; set; }

    /// <summary>The staging dir: its newest day is never purged, whatever the run date says.</summary>
    public string? StagingDir { get; set; }

    protected override bool Run()
    {
        var problems = 0;
        void Problem(string resource, object[] args)
        {
            Log.LogErrorWithCodeFromResources(resource, args);
            problems++;
        }

        var targets = PurgeItems.Read(PurgeDirectories, Problem);

        if (string.IsNullOrWhiteSpace(WorkingDir)) Problem("Purge.MissingWorkingDir", Array.Empty<object>());
        else if (!Path.IsPathFullyQualified(WorkingDir)) Problem("Purge.RelativeWorkingDir", new object[] { WorkingDir });

        var lockWait = TimeSpan.FromSeconds(60);
        if (!string.IsNullOrWhiteSpace(LockWaitSeconds))
        {
            if (int.TryParse(LockWaitSeconds.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                lockWait = TimeSpan.FromSeconds(seconds);
            else
                Problem("Purge.BadLockWait", new object[] { LockWaitSeconds });
        }

        RunClock? clock = null;
        try
        {
            clock = RunClock.From(RunDate, null);
        }
        catch (CodedError e)
        {
            LogCodedError(e);
            problems++;
        }

        // Refused folders fail the whole run before anything is listed or removed.
        var guard = Guard();
        var checkedDirs = new Dictionary<string, PosixStat>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            PurgeGuard.Check(target.Path, target.Path, guard, Problem);
            if (Posix.LStat(target.Path, out _) is { } seen) checkedDirs[target.Path] = seen;
        }

        if (problems > 0 || clock == null) return false;
        if (RunDateCheck.AheadOfSystemClock(RunDate, clock) is { } systemNow)
            Log.LogWarningWithCodeFromResources("Purge.RunDateAhead", RunDate!.Trim(), systemNow);
        if (targets.Count == 0)
        {
            Detail("Purge.NothingConfigured");
            return true;
        }

        using var purgeLock = ActionLock.Acquire(Path.GetFullPath(WorkingDir), "purge", lockWait, Cancellation);
        var now = new DateTimeOffset(clock.Now).ToUnixTimeSeconds();
        var newestDay = NewestStagedDay.Find(StagingDir);
        foreach (var target in targets)
            PurgeOne(target, now, checkedDirs.TryGetValue(target.Path, out var s) ? s : null, newestDay);
        return !Log.HasLoggedErrors;
    }

    private PurgeGuardContext Guard() => new(
        ProjectDirectory, CheckoutDirectory,
        (CollectDirectories ?? Array.Empty<ITaskItem>()).Select(i => i.ItemSpec).Where(p => p.StartsWith('/')).ToList(),
        WorkingDir);

    private void PurgeOne(PurgeTarget target, long nowUnixSeconds, PosixStat? checkedStat, string? newestDay)
    {
        // The folder must still be the one checked: not swapped for a link (or another folder) since.
        var stat = Posix.LStat(target.Path, out _);
        if (stat is not { IsDirectory: true } now)
        {
            if (stat is { IsSymlink: true }) Log.LogErrorWithCodeFromResources("Purge.RefuseSymlink", target.Path);
            else Log.LogErrorWithCodeFromResources("Purge.DirMissing", target.Path);
            return;
        }
        if (checkedStat is { } before && (before.Device != now.Device || before.Inode != now.Inode))
        {
            Log.LogErrorWithCodeFromResources("Purge.Replaced", target.Path);
            return;
        }

        var entries = PurgeList.Below(target.Path,
            (dir, reason) => Log.LogErrorWithCodeFromResources("Purge.CannotList", dir, reason), Cancellation);

        int filesRemoved = 0, filesKept = 0, dirsRemoved = 0;
        long bytesFreed = 0;

        // Pass 1: files not used for RetainDays days, and every symbolic link (never age-checked).
        // The newest staged day is kept whole, whatever the run date (a clock jump, a mistyped BackupRunDate).
        if (newestDay != null && (PurgeGuard.IsSameOrBelow(newestDay, target.Path) || PurgeGuard.IsSameOrBelow(target.Path, newestDay)))
        {
            var kept = entries.Count(e => PurgeGuard.IsSameOrBelow(e.Path, newestDay));
            entries = entries.Where(e => !PurgeGuard.IsSameOrBelow(e.Path, newestDay)).ToList();
            Progress("Purge.KeptNewestDay", newestDay, kept);
        }

        foreach (var entry in entries)
        {
            Cancellation.ThrowIfCancellationRequested();
            switch (entry.Kind)
            {
                case EntryKind.File:
                    var info = new FileInfo(entry.Path);
                    if (!info.Exists) continue;
                    var age = FileAge.WholeDays(info.LastAccessTimeUtc, info.LastWriteTimeUtc, nowUnixSeconds);
                    if (FileAge.IsKept(age, target.RetainDays)) { filesKept++; continue; }
                    if (RemoveFile(entry.Path, age)) { filesRemoved++; bytesFreed += info.Length; }
                    break;
                case EntryKind.Symlink:
                    if (RemoveFile(entry.Path, null)) filesRemoved++;
                    break;
                case EntryKind.Special:
                    Detail("Purge.LeftSpecial", entry.Path);
                    break;
            }
        }

        // Pass 2: folders, parents before children, so only folders already empty before this pass
        // or emptied of files just now go; a parent of a folder removed now goes at the next purge.
        foreach (var entry in entries.Where(e => e.Kind == EntryKind.Directory))
        {
            Cancellation.ThrowIfCancellationRequested();
            if (RemoveEmptyDirectory(entry.Path)) dirsRemoved++;
        }

        Progress("Purge.Summary", target.Path, filesRemoved, bytesFreed, dirsRemoved, filesKept, target.RetainDays);
    }

    private bool RemoveFile(string path, long? age)
    {
        try
        {
            File.Delete(path);
            if (age is { } days) Trace("Purge.RemovedFile", path, days);
            else Trace("Purge.RemovedLink", path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Purge.CannotRemoveFile", path, e.Message);
            return false;
        }
    }

    private bool RemoveEmptyDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: false);
            Trace("Purge.RemovedDirectory", path);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not empty is the normal case (files kept, or children removed only in this pass).
            if (IsNotEmpty(path)) return false;
            // An empty folder that cannot go (a mount point, no permission) holds no data: a warning.
            Log.LogWarningWithCodeFromResources("Purge.CannotRemoveDirectory", path, e.Message);
            return false;
        }
    }

    private static bool IsNotEmpty(string path)
    {
        try { return Directory.EnumerateFileSystemEntries(path).Any(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
