using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Stage;

/// <summary>
/// The Stage action (master): copies each ready peer's collect dir into
/// StagingDir/YYYY/MM/DD/&lt;peer&gt;/, marks the peer staged (cback.stage in its collect dir) and
/// the day staged (cback.stage in the day folder). One failing peer does not stop the others.
/// </summary>
public sealed class StagePeers : BackupTask
{
    /// <summary>The machines to stage: Include = peer name; metadata Type, CollectDir, IgnoreFailures.</summary>
    public ITaskItem[]? Peers { get; set; }

    /// <summary>The staging root; the day's folder is created below it as YYYY/MM/DD.</summary>
    [Required] public string StagingDir { get; set; } = "";

    /// <summary>Where the stage lock lives.</summary>
    [Required] public string WorkingDir { get; set; } = "";

    /// <summary>@(BackupRunSettings): run date, starting day, Full (IgnoreFailures=weekly applies as on the starting day), lock wait.</summary>
    public ITaskItem? RunSettings { get; set; }

    /// <summary>@(BackupSshSettings): how remote peers are reached, their defaults, and StageParallelism.</summary>
    public ITaskItem? SshSettings { get; set; }

    /// <summary>
    /// "true" (the targets pass $(Managed)): each peer's SSH.NET connection stays open for the managed runs after Stage,
    /// closed at the end of the build; otherwise Stage closes it once the peer is done.
    /// </summary>
    public string KeepConnections { get; set; } = "";

    /// <summary>The day folder that was staged (full path).</summary>
    [Output] public string StagingDay { get; set; } = "";

    protected override bool Run()
    {
        var settings = Validate();
        if (settings == null) return false;
        var (peers, clock, full, lockWait) = settings.Value;

        using var stageLock = ActionLock.Acquire(Path.GetFullPath(WorkingDir), "stage", lockWait, Cancellation);

        var day = Path.Combine(Path.GetFullPath(StagingDir), RunClock.DayPath(clock.Today));
        if (!CreateDayFolder(day)) return false;
        StagingDay = day;

        // Cedar creates every peer's folder before staging any, even for peers that turn out not ready.
        var peerDirs = new Dictionary<string, string?>();
        foreach (var peer in peers)
            peerDirs[peer.Name] = CreatePeerFolder(peer, day);

        var fullOrStartOfWeek = full || clock.IsStartOfWeek;
        var writeLock = new object();
        // StageParallelism peers at a time, each on a thread of its own rather than the thread pool's: a peer's work blocks
        // (connect, listing, copy), and SSH.NET's readers need pool threads that blocked peers would otherwise hold, which a
        // 2-core machine's pool hands out slowly. A peer that hangs holds its own thread until its timeout, no one else's:
        // the next peer goes to whichever thread is free.
        var queue = new System.Collections.Concurrent.ConcurrentQueue<StagePeer>(peers);
        Exception? fatal = null;
        // Connecting ahead: while StageParallelism peers copy, as many threads open the SSH.NET connections of the peers
        // next in line (at most twice StageParallelism beyond those started), so that a copy slot is not spent waiting
        // for a login. A connection opened ahead and its failure wait in the build's pool for the peer's turn.
        var started = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        using var ahead = new SemaphoreSlim(2 * _parallelism);
        using var stopConnecting = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var toConnect = new System.Collections.Concurrent.ConcurrentQueue<StagePeer>(peers.Where(p =>
            p.Type == PeerType.Remote && p.Ssh != null && RemotePeerStage.UsesSshNet(p.Ssh) && peerDirs[p.Name] != null));
        void Connect()
        {
            try
            {
                while (toConnect.TryDequeue(out var peer))
                {
                    ahead.Wait(stopConnecting.Token);
                    if (started.ContainsKey(peer.Name)) continue;
                    SshConnections.Prepare(peer.Name, peer.Ssh!, stopConnecting.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) when (e is not OutOfMemoryException) { /* the peer's own turn connects again and reports */ }
        }
        void Work()
        {
            while (!Cancellation.IsCancellationRequested && Volatile.Read(ref fatal) == null && queue.TryDequeue(out var peer))
            {
                started[peer.Name] = true;
                ahead.Release();
                if (peerDirs[peer.Name] is not { } peerDir) continue;
                try
                {
                    StageAndLog(peer, peerDir, fullOrStartOfWeek, writeLock);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref fatal, e, null);
                }
            }
        }
        var count = Math.Max(1, Math.Min(_parallelism, peers.Count));
        var connectors = Enumerable.Range(0, toConnect.IsEmpty ? 0 : count)
            .Select(i => new Thread(Connect) { IsBackground = true, Name = "Stage connections " + i }).ToList();
        var workers = Enumerable.Range(0, count)
            .Select(i => new Thread(Work) { IsBackground = true, Name = "Stage peers " + i }).ToList();
        foreach (var c in connectors) c.Start();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        stopConnecting.Cancel();
        foreach (var c in connectors) c.Join();
        Cancellation.ThrowIfCancellationRequested();
        if (fatal != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fatal);

        // Written even when every peer failed, as Cedar does: it says "Stage ran for this day".
        WriteIndicatorIfMissing(day,
            e => Log.LogErrorWithCodeFromResources("Stage.CannotWriteDayIndicator", day, e.Message));
        return !Log.HasLoggedErrors;
    }

    private int _parallelism = 1;

    private void StageAndLog(StagePeer peer, string peerDir, bool fullOrStartOfWeek, object writeLock)
    {
        var log = new PeerLog();
        PeerResult result;
        try
        {
            result = StageOne(peer, peerDir, fullOrStartOfWeek, log);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever goes wrong with one peer (its data is untrusted input) is that peer's error:
            // the other peers are staged and the day is marked all the same.
            log.Error("Stage.PeerCrashed", peer.Name, e.GetType().Name + ": " + e.Message);
            result = new PeerResult(PeerOutcome.Failed, 0, 0, TimeSpan.Zero);
        }
        log.High("Stage.PeerSummary", peer.Name, Describe(result.Outcome, log), result.Files, Units.Bytes(result.Bytes),
            Units.Seconds(result.Elapsed));
        lock (writeLock) log.WriteTo(Log);
    }

    private static string Describe(PeerOutcome outcome, PeerLog log) => outcome switch
    {
        PeerOutcome.Staged => "staged",
        PeerOutcome.Unchanged => "skipped, unchanged since staged",
        PeerOutcome.NotReady => log.Failed ? "not ready" : "not ready (ignored)",
        _ => log.Failed ? "failed" : "failed (ignored)",
    };

    /// <summary>The configuration Stage uses, parsed as Validate parses it (the same classes, the same codes).</summary>
    private (List<StagePeer> Peers, RunClock Clock, bool Full, TimeSpan LockWait)? Validate()
    {
        var problems = new Problems();
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var ssh = Settings.SshSettings.Parse(SshSettings, problems);
        if (ssh != null) _parallelism = ssh.StageParallelism;
        var peers = PeerItems.Read(Peers, (r, a) => problems.Error(r, a), ssh);
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems);
        if (staging != null)
            BackupBuild.Tasks.Validate.SelfFeeding.CheckStaging(StagingDir, peers.Where(p => p.Type == PeerType.Local).Select(p => (p.Name, p.CollectDir)),
                (r, a) => problems.Error(r, a));
        Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        problems.LogTo(Log);
        if (problems.HasErrors || run == null || ssh == null) return null;
        return (peers, run.Clock, run.Full, run.LockWait);
    }

    private bool CreateDayFolder(string day)
    {
        try
        {
            var existed = Directory.Exists(day);
            PrivateFiles.CreateRoot(day);
            AtomicFile.RemoveLeftovers(day);
            Detail(existed ? "Stage.DayFolderReused" : "Stage.DayFolderCreated", day);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Stage.CannotCreateDayFolder", day, e.Message);
            return false;
        }
    }

    private string? CreatePeerFolder(StagePeer peer, string day)
    {
        var peerDir = Path.Combine(day, peer.Name);
        try
        {
            Directory.CreateDirectory(peerDir);
            AtomicFile.RemoveLeftovers(peerDir);
            return peerDir;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Stage.CannotCreatePeerFolder", peer.Name, peerDir, e.Message);
            return null;
        }
    }

    private PeerResult StageOne(StagePeer peer, string peerDir, bool fullOrStartOfWeek, PeerLog log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var forgiven = peer.ForgivesNotReady(fullOrStartOfWeek);
        if (peer.Type == PeerType.Remote) return new RemotePeerStage(peer, log, forgiven, Cancellation, SshConnections,
            keepConnection: string.Equals(KeepConnections.Trim(), "true", StringComparison.OrdinalIgnoreCase)).Stage(peerDir);

        // The collect dir is opened once, without following a symlink in its place, and everything below
        // (readiness, the files, cback.stage) goes through that open folder.
        using var collect = DirectoryHandle.Open(peer.CollectDir, followLink: false, out var errno);
        if (collect == null && errno != Errno.NoEntry)
        {
            if (errno is Errno.Loop or Errno.NotDirectory) log.Error("Stage.CollectDirNotFolder", peer.Name, peer.CollectDir, Posix.ErrorText(errno));
            else log.Error("Stage.CannotReadCollectDir", peer.Name, peer.CollectDir, Posix.ErrorText(errno));
            return new PeerResult(PeerOutcome.Failed, 0, 0, clock.Elapsed);
        }
        if (collect == null || collect.LStat(IndicatorName(Indicators.Collect), out _) == null)
        {
            if (forgiven) log.High("Stage.NotReadyIgnored", peer.Name, peer.CollectDir, peer.MetadataValue);
            else log.Error("Stage.NotReady", peer.Name, peer.CollectDir);
            return new PeerResult(PeerOutcome.NotReady, 0, 0, clock.Elapsed);
        }

        var copy = new CollectDirCopy(peer.Name, (resource, args) => log.Error(resource, args),
            (resource, args) => log.Detail(resource, args), Cancellation);
        var result = copy.Copy(collect, peerDir);
        if (result.Failed) return new PeerResult(PeerOutcome.Failed, result.Files, result.Bytes, clock.Elapsed);

        log.High("Stage.PeerStaged", peer.Name, result.Files, result.Copied, result.Unchanged, result.Bytes, peerDir);
        // Created beneath the open collect dir, new and without following a link (an empty file needs no temp name).
        using (var indicator = collect.CreateNew(IndicatorName(Indicators.Stage), StagedFiles.Mode, out errno))
        {
            if (indicator == null && errno != DirectoryHandle.AlreadyExists)
                log.Error("Stage.CannotWritePeerIndicator", peer.Name, peer.CollectDir, Posix.ErrorText(errno));
        }
        return new PeerResult(result.Copied == 0 ? PeerOutcome.Unchanged : PeerOutcome.Staged, result.Files, result.Bytes, clock.Elapsed);
    }

    private static byte[] IndicatorName(string name) => System.Text.Encoding.ASCII.GetBytes(name);

    private static void WriteIndicatorIfMissing(string directory, Action<Exception> failed)
    {
        if (Path.Exists(Path.Combine(directory, Indicators.Stage))) return;
        try
        {
            Indicators.Write(directory, Indicators.Stage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failed(e);
        }
    }
}
