using System.Diagnostics;
using System.Security.Cryptography;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The Collect action: archives this machine's CollectDirectory and CollectFile items into
/// CollectDir with Cedar Backup 3's names, modes and rules, then writes cback.collect.
/// </summary>
public sealed class CollectArchives : CollectTaskBase
{
    /// <summary>The collect stamp written by ComputeCollectStamp in this build, whose walk is reused.</summary>
    public string? StampFile { get; set; }

    /// <summary>Seconds a run waits for another Collect on this machine.</summary>
    public string? LockWaitSeconds { get; set; }

    /// <summary>The archives written by this run.</summary>
    [Output] public ITaskItem[] Archives { get; private set; } = Array.Empty<ITaskItem>();

    internal static TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    private int _warnings;

    protected override bool Run()
    {
        var config = LoadConfiguration();
        if (config == null) return false;
        if (config.Sources.Count == 0)
        {
            // A machine whose only backups are module dumps (databases, repositories): the dumps
            // are complete (written atomically), so the collect dir is ready for Stage.
            if (!HoldsModuleOutput(config.CollectDir))
            {
                Log.LogErrorWithCodeFromResources("Collect.NothingConfigured");
                return false;
            }
            Indicators.Write(config.CollectDir, Indicators.Collect);
            Progress("Collect.OnlyModules", Path.Combine(config.CollectDir, Indicators.Collect));
            return true;
        }

        using var _ = ActionLock.Acquire(config.WorkingDir, "collect", Locks.Wait(LockWaitSeconds), Cancellation);
        Directory.CreateDirectory(config.CollectDir);
        AtomicFile.RemoveLeftovers(config.CollectDir);
        // From here until the new indicator is written the folder holds a mix of old and new
        // archives: an old cback.collect must not tell Stage it is complete.
        File.Delete(Path.Combine(config.CollectDir, Indicators.Collect));
        AtomicFile.RemoveLeftovers(config.WorkingDir);

        var started = Stopwatch.StartNew();
        var cached = CachedPlan();
        _states = cached;
        var jobs = cached?.Jobs ?? CollectJob.Plan(config, Unreadable, Cancellation);
        var written = new List<ITaskItem>();
        var manifest = new CollectManifest { Date = config.Clock.Today.ToString("yyyy-MM-dd") };
        long totalIn = 0, totalOut = 0, totalFiles = 0;
        foreach (var job in jobs)
        {
            Cancellation.ThrowIfCancellationRequested();
            var result = Collect(config, job);
            if (result == null) continue;
            totalIn += result.BytesIn;
            totalOut += result.BytesOut;
            totalFiles += result.Files;
            if (result.Archive != null) written.Add(result.Archive);
            if (result.Manifest != null) manifest.Items.Add(result.Manifest);
        }
        Archives = written.ToArray();

        if (Log.HasLoggedErrors)
        {
            Log.LogErrorWithCodeFromResources("Collect.Incomplete", config.CollectDir);
            return false;
        }
        manifest.Write(Path.Combine(config.CollectDir, CollectManifest.FileName));
        Indicators.Write(config.CollectDir, Indicators.Collect);
        Progress("Collect.Summary", written.Count, totalFiles, Units.Bytes(totalIn), Units.Bytes(totalOut), _warnings,
            Units.Seconds(started.Elapsed), Path.Combine(config.CollectDir, Indicators.Collect));
        return true;
    }

    private sealed record JobResult(ITaskItem? Archive, long Files, long BytesIn, long BytesOut, CollectManifestItem? Manifest = null);

    /// <summary>The manifest's record of a job: what was present, what the archive (if any) holds, its checksum.</summary>
    private static CollectManifestItem ManifestItem(CollectJob job, string archivePath, bool complete, string? sha256, long size) => new()
    {
        Source = job.Path,
        Stem = NormalizedPath.From(job.Path),
        Mode = job.Source.Mode.ToString().ToLowerInvariant(),
        Complete = complete,
        Archive = sha256 == null ? null : Path.GetFileName(archivePath),
        Sha256 = sha256,
        Size = size,
        Paths = job.Entries.Select(e => e.Path.TrimStart('/')).ToList(),
    };

    private JobResult? Collect(CollectConfiguration config, CollectJob job)
    {
        var archivePath = config.ArchivePath(job.Path, job.Source.Format);
        var incremental = job.Source.Mode == CollectMode.Incr;
        var today = config.Clock.Today.ToString("yyyy-MM-dd");
        var statePath = config.StatePath(job.Path);
        var plan = incremental
            ? IncrementalPlan.Load(statePath, today, config.ResetIncremental, config.RehashAll,
                damaged => Warn("Collect.DamagedState", damaged, job.Path), _states == null ? null : _states.Read)
            : null;

        var chosen = new List<(WalkEntry Entry, bool Hash)>();
        foreach (var e in job.Entries)
        {
            var decision = plan?.Decide(e, HashFile) ?? IncrementalPlan.Decision.Archive;
            if (decision != IncrementalPlan.Decision.Skip)
                chosen.Add((e, decision == IncrementalPlan.Decision.ArchiveAndHash));
        }

        if (chosen.Count == 0)
        {
            plan?.Save(statePath, today);
            Progress(incremental ? "Collect.NoChanges" : "Collect.NothingToArchive", job.Path, job.Entries.Count);
            return new JobResult(null, 0, 0, 0, ManifestItem(job, archivePath, job.Entries.Count == 0, null, 0));
        }

        var clock = Stopwatch.StartNew();
        long files = 0;
        TarArchiveWriter? writer = null;
        using var progress = new ProgressTicker(ProgressInterval, () =>
        {
            if (writer is { } w)
                Progress("Collect.Progress", job.Path, Interlocked.Read(ref files), chosen.Count, Units.Bytes(w.BytesIn),
                    Units.Rate(w.BytesIn, clock.Elapsed));
        });

        long bytesIn, bytesOut;
        string sha256;
        try
        {
            AtomicFile.Write(archivePath, stream =>
            {
                using var w = new TarArchiveWriter(stream, job.Source.Format, config.Level, config.Threads);
                writer = w;
                foreach (var (entry, hash) in chosen)
                {
                    Cancellation.ThrowIfCancellationRequested();
                    if (Add(w, entry, hash, plan)) Interlocked.Increment(ref files);
                }
                w.Finish();
            });
            bytesIn = writer!.BytesIn;
            bytesOut = new FileInfo(archivePath).Length;
            using (var written = File.OpenRead(archivePath)) sha256 = Convert.ToHexString(SHA256.HashData(written)).ToLowerInvariant();
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Collect.WriteFailed", archivePath, job.Path, e.Message);
            return null;
        }
        finally
        {
            writer = null;
        }

        // The state never runs ahead of the archives: it is saved only once the archive is in place.
        plan?.Save(statePath, today);
        Progress("Collect.Archived", job.Path, files, Units.Bytes(bytesIn), Units.Bytes(bytesOut),
            Units.Rate(bytesIn, clock.Elapsed), Path.GetFileName(archivePath));
        var item = new TaskItem(archivePath);
        item.SetMetadata("Source", job.Path);
        item.SetMetadata("Files", files.ToString());
        return new JobResult(item, files, bytesIn, bytesOut,
            ManifestItem(job, archivePath, !incremental || chosen.Count == job.Entries.Count, sha256, bytesOut));
    }

    /// <summary>Adds one entry; false when it could not be read (a warning names it).</summary>
    private bool Add(TarArchiveWriter writer, WalkEntry entry, bool hash, IncrementalPlan? plan)
    {
        var name = entry.Path.TrimStart('/');
        if (entry.Stat.IsSymlink)
        {
            string? target;
            try { target = new FileInfo(entry.Path).LinkTarget; }
            catch (IOException) { target = null; }
            if (target == null)
            {
                Warn("Collect.Vanished", entry.Path);
                return false;
            }
            writer.AddSymlink(name, entry.Stat, target);
            return true;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(entry.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Warn("Collect.Vanished", entry.Path);
            return false;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Warn("Collect.UnreadableFile", entry.Path, e.Message);
            return false;
        }
        using (stream)
        {
            // Take the header's facts from the file as opened, not from the earlier walk.
            var stat = Posix.LStat(entry.Path, out _) ?? entry.Stat;
            using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var result = writer.AddFile(name, stat, stream, sha, Cancellation);
            var after = Posix.LStat(entry.Path, out _);
            if (result != FileAddResult.Complete || after is not { } a ||
                a.MtimeSeconds != stat.MtimeSeconds || a.MtimeNanos != stat.MtimeNanos || a.Size != stat.Size)
            {
                Warn("Collect.ChangedWhileRead", entry.Path);
            }
            if (sha != null) plan?.Archived(entry.Path, stat, sha.GetHashAndReset());
        }
        return true;
    }

    /// <summary>The walk ComputeCollectStamp did moments ago in this build, when the stamp file is still its.</summary>
    private CollectPlanCache? _states;

    private CollectPlanCache? CachedPlan()
    {
        if (string.IsNullOrEmpty(StampFile) || !File.Exists(StampFile)) return null;
        var key = CollectPlanCache.Key(File.ReadAllText(StampFile));
        if (BuildEngine4?.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is not CollectPlanCache cached) return null;
        BuildEngine4.UnregisterTaskObject(key, RegisteredTaskObjectLifetime.Build);
        foreach (var (path, kind, errno) in cached.Unreadable) Unreadable(path, kind, errno);
        return cached;
    }

    private static bool HoldsModuleOutput(string collectDir) =>
        Directory.Exists(collectDir) && Directory.EnumerateFiles(collectDir).Select(Path.GetFileName)
            .Any(n => !Indicators.IsIndicator(n!) && !n!.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal));

    private static byte[]? HashFile(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 1 << 16, FileOptions.SequentialScan);
            return SHA256.HashData(s);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Unreadable(string path, string kind, int errno) =>
        Warn(kind == "directory" ? "Collect.UnreadableDirectory" : "Collect.UnreadableFile", path, Posix.ErrorText(errno));

    private void Warn(string resource, params object[] args)
    {
        Interlocked.Increment(ref _warnings);
        Log.LogWarningWithCodeFromResources(resource, args);
    }
}
