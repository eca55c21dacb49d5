using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Incremental;

/// <summary>
/// The up-to-date check of an action whose work MSBuild cannot see (Stage, Store, Purge, the staged-day extensions),
/// in the shape of Collect's: the action's target has this stamp file as its Inputs and a ".done" file as its Outputs.
/// Before the work (Record=false) it writes the state the action reads (the run day, the configuration, one lstat
/// per file of <see cref="Paths"/>, the local peers' indicators) into the stamp only when it differs from what the
/// stamp holds, so an unchanged state leaves the stamp older than the ".done" file and MSBuild skips the target.
/// After the work (Record=true) it records the state the action left, then the target touches ".done": the next
/// run compares against what this one left. A killed or failed run never reaches ".done", so it runs again.
/// Under `-question` (<see cref="FailIfNotIncremental"/>) it writes nothing and fails, saying what changed.
/// </summary>
public sealed class ComputeActionStamp : BackupTask, IIncrementalTask
{
    [Required] public string Action { get; set; } = "";
    [Required] public string StampFile { get; set; } = "";
    /// <summary>The configuration the action uses, as one string (its properties).</summary>
    public string? Key { get; set; }
    /// <summary>Files and folders the action reads or writes; folders with everything in them (links not followed). Metadata count as configuration.</summary>
    public ITaskItem[] Paths { get; set; } = [];
    /// <summary>Stage: the Peer items. A local peer counts as its collect dir's indicators; any other makes the state unknowable.</summary>
    public ITaskItem[] Peers { get; set; } = [];
    /// <summary>@(BackupRunSettings): the run day (BackupRunDate, StartingDay) is part of the state.</summary>
    public ITaskItem? RunSettings { get; set; }
    /// <summary>StagingDir: with <see cref="StagedDay"/>, the run day's staging folder is one of the paths.</summary>
    public string? StagingDir { get; set; }
    public bool StagedDay { get; set; }
    /// <summary>File names left out of the paths' state (Stage: the cback.store that Store writes into the day afterwards).</summary>
    public string? IgnoreNames { get; set; }
    /// <summary>Store: the drive's device; a medium in a drive cannot be known here, so the action always runs.</summary>
    public string? DriveDevice { get; set; }
    /// <summary>After the work: record the state the action left.</summary>
    public bool Record { get; set; }

    /// <summary>
    /// Purge: the folders Purge must never touch (PurgeGuard's context). A path Purge would refuse is neither walked
    /// (it may be "/") nor recorded: no stamp is written (an old one is removed), so the target runs and Purge refuses
    /// it with its own code, before anything is touched.
    /// </summary>
    public bool PurgeGuarded { get; set; }
    public string? ProjectDirectory { get; set; }
    public string? CheckoutDirectory { get; set; }
    public ITaskItem[] CollectDirectories { get; set; } = [];
    public string? WorkingDir { get; set; }

    /// <summary>Set by MSBuild under -question: report what would run instead of writing the stamp.</summary>
    public bool FailIfNotIncremental { get; set; }

    /// <summary>True when the stamp changed: the action has work to do.</summary>
    [Output] public bool Changed { get; private set; }

    protected override bool Run()
    {
        // The run group, parsed as the action and Validate parse it: a refused value stops here with the same code.
        var problems = new Problems();
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        problems.LogTo(Log);
        if (run == null) return false;
        if (PurgeGuarded && Refused() is { } refused)
        {
            Changed = true;
            var reason = Format("Incremental.PurgeRefused", refused);
            if (FailIfNotIncremental)
            {
                Log.LogErrorWithCodeFromResources("Incremental.WouldRun", Action, reason);
                return false;
            }
            Detail("Incremental.WillRun", Action, reason);
            try { File.Delete(StampFile); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return true;
        }
        var lines = State(run.Clock, out var unknowable);
        var stamp = string.Join("\n", lines) + "\n";
        string? existing = null;
        try { existing = File.Exists(StampFile) ? File.ReadAllText(StampFile) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        var done = Path.ChangeExtension(StampFile, ".done");

        if (Record)
        {
            if (existing != stamp) Write(stamp);
            return true;
        }

        string? why = unknowable != null ? Format("Incremental.WhyUnknowable", unknowable)
            : existing == null || !File.Exists(done) ? Format("Incremental.WhyNoRecord")
            : existing != stamp ? Format("Incremental.WhyChanged", FirstDifference(existing, lines))
            : File.GetLastWriteTimeUtc(done) < File.GetLastWriteTimeUtc(StampFile) ? Format("Incremental.WhyNotFinished")
            : null;
        Changed = why != null;
        if (!Changed)
        {
            Detail("Incremental.UpToDate", Action, done);
            return true;
        }
        if (FailIfNotIncremental)
        {
            Log.LogErrorWithCodeFromResources("Incremental.WouldRun", Action, why!);
            return false;
        }
        Detail("Incremental.WillRun", Action, why!);
        // Rewritten even when equal (a run that never finished, an unknowable state): newer than .done, so the target runs.
        Write(stamp);
        return true;
    }

    /// <summary>The first path Purge's guard refuses (by path and link metadata alone, nothing listed), or null.</summary>
    private string? Refused()
    {
        var context = new Purge.PurgeGuardContext(ProjectDirectory, CheckoutDirectory,
            CollectDirectories.Select(i => i.ItemSpec).Where(p => p.StartsWith('/')).ToList(), WorkingDir);
        foreach (var item in Paths)
        {
            var path = item.ItemSpec.Trim();
            if (!path.StartsWith('/')) return item.ItemSpec;
            var refused = false;
            Purge.PurgeGuard.Check(path, path, context, (_, _) => refused = true);
            if (refused) return item.ItemSpec;
        }
        return null;
    }

    private void Write(string stamp)
    {
        PrivateFiles.CreateRoot(Path.GetDirectoryName(Path.GetFullPath(StampFile))!);
        AtomicFile.WriteAllBytes(StampFile, Encoding.UTF8.GetBytes(stamp));
    }

    /// <summary>What changed, in words: the subject of the first line that differs.</summary>
    private static string FirstDifference(string existing, List<string> now)
    {
        var before = existing.TrimEnd('\n').Split('\n');
        for (var i = 0; i < Math.Max(before.Length, now.Count); i++)
        {
            var a = i < before.Length ? before[i] : "";
            var b = i < now.Count ? now[i] : "";
            if (a == b) continue;
            var line = b.Length > 0 ? b : a;
            // "path /x/y 1a2b…": the subject without its hash.
            var space = line.LastIndexOf(' ');
            return space > 0 && line.StartsWith("path ", StringComparison.Ordinal) ? line[..space] : line;
        }
        return "";
    }

    private List<string> State(RunClock clock, out string? unknowable)
    {
        unknowable = string.IsNullOrWhiteSpace(DriveDevice) ? null : Format("Incremental.Drive");
        var lines = new List<string> { "stamp 1 " + Action };
        lines.Add("day " + clock.Today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
                  + (clock.IsStartOfWeek ? " start-of-week" : ""));
        lines.Add("configuration " + Hash(Key ?? ""));
        var paths = Paths.Select(p => (p.ItemSpec, Metadata(p))).ToList();
        if (StagedDay && !string.IsNullOrWhiteSpace(StagingDir))
            paths.Add((Path.Combine(StagingDir, RunClock.DayPath(clock.Today)), ""));
        foreach (var (path, metadata) in paths)
        {
            if (metadata.Length > 0) lines.Add("item " + path + " " + Hash(metadata));
            lines.Add("path " + path + " " + TreeHash(path));
        }
        foreach (var peer in Peers)
        {
            lines.Add("peer " + peer.ItemSpec + " " + Hash(Metadata(peer)));
            var type = peer.GetMetadata("Type").Trim();
            var collectDir = peer.GetMetadata("CollectDir").Trim();
            if (!string.Equals(type, "local", StringComparison.OrdinalIgnoreCase) || collectDir.Length == 0)
            {
                unknowable ??= Format("Incremental.RemotePeer", peer.ItemSpec);
                continue;
            }
            lines.Add("peer " + peer.ItemSpec + " " + LocalPeerState(collectDir));
        }
        return lines;
    }

    /// <summary>
    /// What Stage would take from a local peer: its cback.collect when that is newer than the cback.stage Stage
    /// wrote there ("collected …"); "staged" when there is none or Stage took it since (Purge then empties the folder).
    /// </summary>
    private static string LocalPeerState(string collectDir)
    {
        var collect = Posix.LStat(Path.Combine(collectDir, Indicators.Collect), out _);
        if (collect is not { } c) return "staged";
        var stage = Posix.LStat(Path.Combine(collectDir, Indicators.Stage), out _);
        if (stage is { } s && (s.MtimeSeconds, s.MtimeNanos).CompareTo((c.MtimeSeconds, c.MtimeNanos)) >= 0) return "staged";
        return $"collected {c.Inode} {c.Size} {c.MtimeSeconds}.{c.MtimeNanos}";
    }

    private static string Metadata(ITaskItem item)
    {
        var names = item.CloneCustomMetadata().Keys.Cast<string>().OrderBy(n => n, StringComparer.Ordinal);
        return string.Join("\n", names.Select(n => n + "=" + item.GetMetadata(n)));
    }

    private static string Hash(string text) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();

    /// <summary>One lstat per entry under the path (links are recorded, never followed); "missing" when absent.</summary>
    private string TreeHash(string root)
    {
        var ignored = new HashSet<string>(Values.List(IgnoreNames), StringComparer.Ordinal);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var top = Posix.LStat(root, out _);
        if (top is not { } t) return "missing";
        Add(hash, "", t);
        if (t.IsDirectory)
        {
            var pending = new Stack<string>();
            pending.Push(root);
            while (pending.Count > 0)
            {
                Cancellation.ThrowIfCancellationRequested();
                var dir = pending.Pop();
                string[] entries;
                try { entries = Directory.GetFileSystemEntries(dir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    hash.AppendData(Encoding.UTF8.GetBytes("unreadable " + dir + "\n"));
                    continue;
                }
                Array.Sort(entries, StringComparer.Ordinal);
                foreach (var entry in entries)
                {
                    if (ignored.Contains(Path.GetFileName(entry))) continue;
                    if (Posix.LStat(entry, out _) is not { } st) continue;
                    Add(hash, Path.GetRelativePath(root, entry), st);
                    if (st.IsDirectory) pending.Push(entry);
                }
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..32].ToLowerInvariant();
    }

    // A folder's own times and size change with any entry added or removed (an ignored cback.store too): its entries tell.
    private static void Add(IncrementalHash hash, string relative, PosixStat st) =>
        hash.AppendData(Encoding.UTF8.GetBytes(st.IsDirectory
            ? $"{relative}\0{st.Mode}\0dir\0{st.Inode}\n"
            : $"{relative}\0{st.Mode}\0{st.Size}\0{st.MtimeSeconds}.{st.MtimeNanos}\0{st.Inode}\n"));
}
