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
            // A stale cback.stage must not vouch for the new dumps.
            File.Delete(Path.Combine(config.CollectDir, Indicators.Stage));
            Indicators.Write(config.CollectDir, Indicators.Collect);
            if (StampText() == CollectPlanCache.WalkedByCollect)
            {
                using var empty = new CollectStampWalk(config);
                WriteStamp(empty.Finish());
            }
            Progress("Collect.OnlyModules", Path.Combine(config.CollectDir, Indicators.Collect));
            return true;
        }

        using var _ = ActionLock.Acquire(config.WorkingDir, "collect", config.LockWait, Cancellation);
        PrivateFiles.CreateRoot(config.CollectDir);
        AtomicFile.RemoveLeftovers(config.CollectDir);
        AtomicFile.RemoveLeftovers(config.WorkingDir);

        var started = Stopwatch.StartNew();
        var stampText = StampText();
        var cached = CachedPlan(stampText);
        var spool = cached?.Spool is { } spoolStream ? new WalkSpoolReader(spoolStream) : null;
        // ComputeCollectStamp left the walk to this run: its stamp is hashed from the walk below.
        using var stampWalk = spool == null && stampText == CollectPlanCache.WalkedByCollect ? new CollectStampWalk(config) : null;
        void Seen(string path, string kind, int errno)
        {
            stampWalk?.Unreadable(path, kind, errno);
            Unreadable(path, kind, errno);
        }
        var jobs = spool != null ? cached!.Jobs : CollectJob.Plan(config, Seen, Cancellation);

        // Did the master stage the previous collect? Read before the indicators go; always "yes" when carrying
        // is off. If so, each incr item's state is kept as its staged snapshot now, before cback.stage goes.
        var previousStaged = !config.CarryUnstaged || CollectDirStaging.Read(config.CollectDir).Vouches;
        foreach (var job in jobs.Where(j => j.Source.Mode == CollectMode.Incr))
        {
            try
            {
                IncrementalPlan.RecordStaged(config.StatePath(job.Path), config.ResetIncremental, previousStaged);
            }
            catch (IOException e)
            {
                // Nothing was touched yet: the old archives, indicators and states stay as they were.
                spool?.Dispose();
                Log.LogErrorWithCodeFromResources("Collect.WriteFailed", IncrementalPlan.StagedPath(config.StatePath(job.Path)), job.Path, e.Message);
                return false;
            }
        }
        // From here until the new indicator is written the folder holds a mix of old and new
        // archives: an old cback.collect must not tell Stage it is complete, and an old cback.stage
        // must not vouch for the new archives. cback.stage goes first: a run killed between the two
        // leaves cback.collect alone, read as "not staged", so the next run carries more, never less.
        File.Delete(Path.Combine(config.CollectDir, Indicators.Stage));
        File.Delete(Path.Combine(config.CollectDir, Indicators.Collect));
        // What the stamp's walk could not read is reported once: from its list with its spool, else by the walk below.
        if (spool != null)
            foreach (var (path, kind, errno) in cached!.Unreadable) Unreadable(path, kind, errno);
        var written = new List<ITaskItem>();
        long totalIn = 0, totalOut = 0, totalFiles = 0;
        _earlierToday = EarlierLinksOfToday(Path.Combine(config.CollectDir, CollectManifest.FileName), config.Clock.Today.ToString("yyyy-MM-dd"));
        try
        {
            using var manifest = new CollectManifestWriter(Path.Combine(config.CollectDir, CollectManifest.FileName),
                config.Clock.Today.ToString("yyyy-MM-dd"));
            foreach (var job in jobs)
            {
                Cancellation.ThrowIfCancellationRequested();
                // The stamp's spool when this build has it, else a walk of the tree now: the same entries in the same order.
                Action<Action<WalkEntry>> entries = spool != null
                    ? emit => { foreach (var e in spool.ReadJob()) emit(e); }
                    : stampWalk == null
                    ? emit => job.Walk(emit, Unreadable, Cancellation)
                    : emit =>
                    {
                        stampWalk.Job(job.Path);
                        job.Walk(e =>
                        {
                            stampWalk.Entry(e);
                            emit(e);
                        }, Seen, Cancellation);
                        stampWalk.WalkedJobs++;
                    };
                var result = Collect(config, job, entries, manifest, previousStaged);
                if (result == null) continue;
                totalIn += result.BytesIn;
                totalOut += result.BytesOut;
                totalFiles += result.Files;
                if (result.Archive != null) written.Add(result.Archive);
            }
            Archives = written.ToArray();
            // The stamp of what was walked, once the whole walk ran (else the placeholder stays: the next run collects).
            if (stampWalk != null && stampWalk.WalkedJobs == jobs.Count) WriteStamp(stampWalk.Finish());

            if (Log.HasLoggedErrors)
            {
                Log.LogErrorWithCodeFromResources("Collect.Incomplete", config.CollectDir);
                return false;
            }
            manifest.Commit();
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Collect.WriteFailed", Path.Combine(config.CollectDir, CollectManifest.FileName), config.CollectDir, e.Message);
            Log.LogErrorWithCodeFromResources("Collect.Incomplete", config.CollectDir);
            return false;
        }
        finally
        {
            spool?.Dispose();
        }
        Indicators.Write(config.CollectDir, Indicators.Collect);
        Progress("Collect.Summary", written.Count, totalFiles, Units.Bytes(totalIn), Units.Bytes(totalOut), _warnings,
            Units.Seconds(started.Elapsed), Path.Combine(config.CollectDir, Indicators.Collect));
        return true;
    }

    private Dictionary<string, (string? Since, string? Previous)> _earlierToday = new(StringComparer.Ordinal);

    /// <summary>
    /// The chain links (<see cref="CollectManifestItem.Since"/>) an earlier run of the same day recorded, by stem: a
    /// second run of the day diffs against the same baseline, whose own day its state file no longer carries.
    /// </summary>
    private static Dictionary<string, (string? Since, string? Previous)> EarlierLinksOfToday(string manifestPath, string today)
    {
        var links = new Dictionary<string, (string? Since, string? Previous)>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(manifestPath);
            // An earlier day's manifest (the usual case) has no links of today: its paths are not read.
            if (CollectManifest.PeekDate(stream) is { } date && date != today) return links;
            stream.Position = 0;
            var earlier = CollectManifest.Read(stream);
            if (earlier.Date == today)
                foreach (var item in earlier.Items) links[item.Stem] = (item.Since, item.Previous ?? item.Since);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { }
        return links;
    }

    private sealed record JobResult(ITaskItem? Archive, long Files, long BytesIn, long BytesOut);

    /// <summary>The manifest's record of a job: what the archive (if any) holds and its checksum (the paths were streamed).</summary>
    private CollectManifestItem ManifestItem(CollectJob job, string archivePath, bool complete, string? sha256, long size, IncrementalPlan? plan) => new()
    {
        Since = complete || plan == null ? null
            : plan.BaselineDay ?? _earlierToday.GetValueOrDefault(NormalizedPath.From(job.Path)).Since,
        Previous = plan == null ? null
            : (plan.LatestDay ?? _earlierToday.GetValueOrDefault(NormalizedPath.From(job.Path)).Previous) is { } previous
              && previous != (complete ? null : plan.BaselineDay ?? _earlierToday.GetValueOrDefault(NormalizedPath.From(job.Path)).Since)
                ? previous : null,
        Source = job.Path,
        Stem = NormalizedPath.From(job.Path),
        Mode = job.Source.Mode.ToString().ToLowerInvariant(),
        Complete = complete,
        Archive = sha256 == null ? null : Path.GetFileName(archivePath),
        Sha256 = sha256,
        Size = size,
    };

    /// <summary>
    /// One job, streamed: each entry the walk gives is listed in the manifest, decided on against the
    /// incremental state read alongside, and if chosen added to the archive at once. The archive file is
    /// started with the first chosen entry, so a job with nothing to archive writes none.
    /// </summary>
    private JobResult? Collect(CollectConfiguration config, CollectJob job, Action<Action<WalkEntry>> entries, CollectManifestWriter manifest,
        bool previousStaged)
    {
        var archivePath = config.ArchivePath(job.Path, job.Source.Format);
        var incremental = job.Source.Mode == CollectMode.Incr;
        var today = config.Clock.Today.ToString("yyyy-MM-dd");
        var statePath = config.StatePath(job.Path);
        using var plan = incremental
            ? IncrementalPlan.Load(statePath, today, config.ResetIncremental, config.RehashAll,
                damaged => Warn("Collect.DamagedState", damaged, job.Path), previousStaged)
            : null;
        if (plan?.CarriedFrom is { } since)
            Warn("Collect.CarriesUnstaged", job.Path, Path.Combine(config.CollectDir, Indicators.Stage), since, Path.GetFileName(archivePath));
        else if (plan is { NoStagedBaseline: true })
            Warn("Collect.NoStagedBaseline", job.Path, Path.Combine(config.CollectDir, Indicators.Stage), Path.GetFileName(archivePath));

        var hashFile = HashFile(job);
        var clock = Stopwatch.StartNew();
        long seen = 0, chosen = 0, files = 0;
        AtomicFile.Pending? file = null;
        DirectFileOutput? direct = null;
        HashingOutput? hashed = null;
        TarArchiveWriter? writer = null;
        using var progress = new ProgressTicker(ProgressInterval, () =>
            Progress("Collect.Progress", job.Path, Interlocked.Read(ref seen), Interlocked.Read(ref files),
                Units.Bytes(writer?.BytesIn ?? 0), Units.Rate(writer?.BytesIn ?? 0, clock.Elapsed)));

        manifest.BeginItem();
        var shape = new TreeShape(job.Path);
        long bytesIn = 0, bytesOut = 0;
        string? sha256 = null;
        FileReadAhead? ahead = null;
        // The plan records an unchanged file as it decides it, an archived one when its hash is known: in walk order.
        // Where the baseline holds anything, a file read ahead for its hash is added before the next regular file is
        // decided. A full collect (empty baseline) decides without recording, so reading ahead never waits for that.
        var recordsWhileDeciding = plan is { BaselineIsEmpty: false };
        // The manifest's tokens of the entries read ahead, in the same order as the reader hands them back.
        var members = new Queue<int>();
        void AddNext()
        {
            var item = ahead!.Next();
            var member = members.Dequeue();
            if (Add(writer!, item, plan))
            {
                Interlocked.Increment(ref files);
                manifest.AddMember(member, item.Entry.Stat); // the manifest's list of what the archive holds (Find, Restore)
            }
        }
        try
        {
            entries(e =>
            {
                Cancellation.ThrowIfCancellationRequested();
                Interlocked.Increment(ref seen);
                var member = manifest.AddPath(e.PathBytes);
                shape.Add(e);
                if (recordsWhileDeciding && e.Stat.IsRegular)
                    while (ahead?.PendingHashes > 0) AddNext();
                var decision = plan?.Decide(e, hashFile) ?? IncrementalPlan.Decision.Archive;
                if (decision == IncrementalPlan.Decision.Skip) return;
                chosen++;
                if (writer == null)
                {
                    file = AtomicFile.Begin(archivePath);
                    direct = new DirectFileOutput(file.Stream);
                    hashed = new HashingOutput(direct);
                    writer = new TarArchiveWriter(hashed, job.Source.Format, config.Level, config.Threads);
                    ahead = new FileReadAhead(ReadAhead.Threads, ReadAhead.Window, ReadAhead.RingBytes, ReadAhead.WholeLimit, Beneath(job));
                }
                // Files are opened and read ahead on reader threads; the tar stream is assembled here, in walk order.
                while (ahead!.Full(e)) AddNext();
                ahead.Enqueue(e, decision == IncrementalPlan.Decision.ArchiveAndHash);
                members.Enqueue(member);
            });
            while (ahead?.Pending > 0) AddNext();
            if (writer != null)
            {
                writer.Finish();
                bytesIn = writer.BytesIn;
                writer.Dispose();
                // The hash covers every byte of the file: nothing else writes to it.
                if (file!.Stream.Length != hashed!.Length)
                    throw new IOException($"{file.Stream.Length} bytes in the file, {hashed.Length} written");
                sha256 = hashed.Sha256();
                file.Commit();
                bytesOut = new FileInfo(archivePath).Length;
            }
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Collect.WriteFailed", archivePath, job.Path, e.Message);
            return null;
        }
        finally
        {
            ahead?.Dispose();
            writer?.Dispose();
            hashed?.Dispose();
            direct?.Dispose();
            file?.Dispose();
        }

        // The state never runs ahead of the archives: it is saved only once the archive is in place.
        try
        {
            plan?.Save();
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Collect.WriteFailed", statePath, job.Path, e.Message);
            return null;
        }
        if (chosen == 0)
        {
            manifest.EndItem(shape.AddTo(ManifestItem(job, archivePath, seen == 0, null, 0, plan)));
            Progress(incremental ? "Collect.NoChanges" : "Collect.NothingToArchive", job.Path, seen);
            return new JobResult(null, 0, 0, 0);
        }
        manifest.EndItem(shape.AddTo(ManifestItem(job, archivePath, !incremental || chosen == seen, sha256, bytesOut, plan)));
        Progress("Collect.Archived", job.Path, files, Units.Bytes(bytesIn), Units.Bytes(bytesOut),
            Units.Rate(bytesIn, clock.Elapsed), Path.GetFileName(archivePath));
        var item = new TaskItem(archivePath);
        item.SetMetadata("Source", job.Path);
        item.SetMetadata("Files", files.ToString());
        return new JobResult(item, files, bytesIn, bytesOut);
    }

    /// <summary>Adds one entry as a reader found it; false when it could not be read (a warning names it).</summary>
    private bool Add(TarArchiveWriter writer, FileReadAhead.Item item, IncrementalPlan? plan)
    {
        switch (item.Outcome)
        {
            case FileReadAhead.Outcome.Symlink:
                writer.AddSymlink(item.Name, item.Entry.Stat, item.LinkTarget!);
                return true;
            case FileReadAhead.Outcome.Vanished:
                // Gone, or replaced by a link or something else since the walk (O_NOFOLLOW refuses a link).
                Warn("Collect.Vanished", PosixPath.Display(item.Entry.Path));
                return false;
            case FileReadAhead.Outcome.Unreadable:
                Warn("Collect.UnreadableFile", PosixPath.Display(item.Entry.Path), Posix.ErrorText(item.Errno));
                return false;
            case FileReadAhead.Outcome.Whole:
                writer.AddFile(item.Name, item.Stat, item.Content);
                // A read error: the entry is whole (zeros for what was not read), the error ends the archive.
                item.ReadError?.Throw();
                if (item.Result != FileAddResult.Complete || item.ChangedAfter)
                    Warn("Collect.ChangedWhileRead", PosixPath.Display(item.Entry.Path));
                if (item.Hash) plan?.Archived(item.Entry.PathBytes, item.Stat, item.Sha256!);
                return true;
        }

        // A larger file, opened and fstat'ed by the reader: streamed from the open file.
        var handle = item.Handle!;
        item.Handle = null;
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 1);
        var stat = item.Stat;
        using var sha = item.Hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var result = writer.AddFile(item.Name, stat, stream, sha, Cancellation);
        var after = Posix.FStat(handle, out _);
        if (result != FileAddResult.Complete || after is not { } a ||
            a.MtimeSeconds != stat.MtimeSeconds || a.MtimeNanos != stat.MtimeNanos || a.Size != stat.Size)
        {
            Warn("Collect.ChangedWhileRead", PosixPath.Display(item.Entry.Path));
        }
        if (sha != null) plan?.Archived(item.Entry.PathBytes, stat, sha.GetHashAndReset());
        return true;
    }

    /// <summary>
    /// How files are read ahead (<see cref="FileReadAhead"/>): reader threads (0: its default), entries in flight,
    /// bytes of small files in flight, the largest file read whole. Tests make them small.
    /// </summary>
    internal static (int Threads, int Window, int RingBytes, int WholeLimit) ReadAhead { get; set; } = (0, 256, 8 << 20, 512 << 10);

    /// <summary>The collect stamp's content; null without one.</summary>
    private string? StampText()
    {
        if (string.IsNullOrEmpty(StampFile)) return null;
        try
        {
            return File.ReadAllText(StampFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the stamp of this run's walk where ComputeCollectStamp left its placeholder. Not written (a full disk),
    /// the placeholder stays and only makes the next run collect again.
    /// </summary>
    private void WriteStamp(string stamp)
    {
        try
        {
            AtomicFile.WriteAllBytes(StampFile!, System.Text.Encoding.ASCII.GetBytes(stamp));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The walk ComputeCollectStamp did moments ago in this build, when the stamp file is still its.</summary>
    private CollectPlanCache? CachedPlan(string? stampText)
    {
        if (stampText == null) return null;
        var key = CollectPlanCache.Key(stampText);
        if (BuildEngine4?.GetRegisteredTaskObject(key, RegisteredTaskObjectLifetime.Build) is not CollectPlanCache cached) return null;
        BuildEngine4.UnregisterTaskObject(key, RegisteredTaskObjectLifetime.Build);
        return cached;
    }

    private static bool HoldsModuleOutput(string collectDir) =>
        Directory.Exists(collectDir) && Directory.EnumerateFiles(collectDir).Select(Path.GetFileName)
            .Any(n => !Indicators.IsIndicator(n!) && !n!.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal));

    /// <summary>
    /// The folder a job's files are read beneath without following a link below it (<see cref="FileReadAhead"/>):
    /// the item's own folder (its configured path, links in it followed) when the walk followed no link below it
    /// (LinkDepth 0, no Dereference). Null (each folder by its path) for a CollectFile and where links are followed.
    /// </summary>
    private static string? Beneath(CollectJob job) =>
        job.Source.IsFile || job.Source.LinkDepth > 0 || job.Source.Dereference ? null : job.Source.Path;

    /// <summary>Tests only: called with a file's path just before its content is hashed for the incremental decision.</summary>
    internal static Action<string>? BeforeHash { get; set; }

    /// <summary>
    /// A file's content hash for the incremental decision, read the way the archive reads it: beneath the item's
    /// folder without following a link below it (<see cref="Beneath(CollectJob)"/>). Null when it cannot be read.
    /// </summary>
    private static Func<WalkEntry, byte[]?> HashFile(CollectJob job)
    {
        var beneath = Beneath(job);
        var rootPath = beneath == null ? null : PosixPath.Encode(beneath.Length > 1 ? beneath.TrimEnd('/') : beneath);
        return entry =>
        {
            BeforeHash?.Invoke(entry.Path);
            try
            {
                if (rootPath == null)
                {
                    using var s = Posix.OpenReadStream(entry.Path, out _, bufferSize: 1 << 16);
                    return s == null ? null : SHA256.HashData(s);
                }
                var path = entry.PathBytes.AsSpan();
                var slash = path.LastIndexOf((byte)'/');
                var within = rootPath is [(byte)'/'] ? 0 : rootPath.Length;
                if (slash < within || !path.StartsWith(rootPath) || (within < path.Length && path[within] != (byte)'/')) return null;
                using var root = DirectoryHandle.Open(beneath!, followLink: true, out _);
                using var folder = root?.OpenBeneath(slash > within ? path[(within + 1)..slash] : default, out _);
                using var handle = folder?.OpenRead(path[(slash + 1)..], out _);
                if (handle == null || Posix.FStat(handle, out _) is not { IsRegular: true }) return null;
                using var stream = new FileStream(handle, FileAccess.Read, 1 << 16);
                return SHA256.HashData(stream);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        };
    }

    private void Unreadable(string path, string kind, int errno) =>
        Warn(kind == "directory" ? "Collect.UnreadableDirectory" : "Collect.UnreadableFile", PosixPath.Display(path), Posix.ErrorText(errno));

    private void Warn(string resource, params object[] args)
    {
        Interlocked.Increment(ref _warnings);
        Log.LogWarningWithCodeFromResources(resource, args);
    }
}
