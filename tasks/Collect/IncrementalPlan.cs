using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// Decides which files of an incremental item go into today's archive.
///
/// Cedar Backup archives what changed since the previous collect run, so a second run on the
/// same day writes an archive that replaces the first one in the staging folder and the first
/// run's changes are lost from it. Here the comparison is with the day's baseline (the state at
/// the end of the last run of an earlier day), so every run of a day archives everything that
/// changed that day. On the starting day and with Full the baseline is empty: everything.
///
/// A file whose size, mtime, ctime and inode match a known state is not read; one that differs
/// is hashed (SHA-256) and archived only if its content changed. With RehashAll every file is
/// hashed, as Cedar does.
/// </summary>
public sealed class IncrementalPlan
{
    private readonly Dictionary<string, FileState> _latest;
    private readonly Dictionary<string, FileState> _baseline;
    private readonly bool _rehashAll;

    public IncrementalPlan(Dictionary<string, FileState> latest, Dictionary<string, FileState> baseline, bool rehashAll)
    {
        _latest = latest;
        _baseline = baseline;
        _rehashAll = rehashAll;
    }

    /// <summary>The state to save after the archive is written: every regular file present now.</summary>
    public Dictionary<string, FileState> Next { get; } = new(StringComparer.Ordinal);

    /// <summary>Files hashed to decide (their content was read once before archiving).</summary>
    public int Hashed { get; private set; }

    public enum Decision { Skip, Archive, ArchiveAndHash }

    /// <summary>What to do with one walk entry. Symlinks are always archived (as Cedar does).</summary>
    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public Decision Decide(in WalkEntry e, Func<string, byte[]?> hash)
    {
        if (!e.Stat.IsRegular) return Decision.Archive;
        if (!_baseline.TryGetValue(e.Path, out var before)) return Decision.ArchiveAndHash;

        byte[]? now = null;
        if (!_rehashAll)
        {
            if (before.SameStat(e.Stat)) now = before.Sha256;
            else if (_latest.TryGetValue(e.Path, out var last) && last.SameStat(e.Stat)) now = last.Sha256;
        }
        if (now == null)
        {
            now = hash(e.Path);
            Hashed++;
            if (now == null) return Decision.ArchiveAndHash;
        }
        Next[e.Path] = FileState.From(e.Stat, now);
        return now.AsSpan().SequenceEqual(before.Sha256) ? Decision.Skip : Decision.Archive;
    }

    /// <summary>Records a file's hash taken while archiving it.</summary>
    public void Archived(string path, in PosixStat stat, byte[] sha256) => Next[path] = FileState.From(stat, sha256);

    /// <summary>Loads the latest state and today's baseline; reports a damaged state through <paramref name="damaged"/>.</summary>
    public static IncrementalPlan Load(string statePath, string today, bool reset, bool rehashAll, Action<string> damaged,
        Func<string, LoadedState>? read = null)
    {
        read ??= LoadedState.Read;
        var latest = LoadOrEmpty(read(statePath), out var latestDay, damaged);
        var latestMissing = latestDay == "";
        Dictionary<string, FileState> baseline;
        var baselineIsTodays = false;
        if (reset) baseline = new(StringComparer.Ordinal);
        else if (latestDay != today) baseline = latest;
        else
        {
            baseline = LoadOrEmpty(read(BaselinePath(statePath)), out var baseDay, damaged);
            if (baseDay != today) baseline = new(StringComparer.Ordinal);
            else baselineIsTodays = true;
        }
        return new IncrementalPlan(latest, baseline, rehashAll)
        {
            BaselineToSave = baseline, BaselineIsTodays = baselineIsTodays, _latestMissing = latestMissing,
        };
    }

    /// <summary>Saves today's baseline (if it is new) and the latest state, after the archive is complete.</summary>
    public void Save(string statePath, string today)
    {
        // Nothing changed since the latest state: it still serves as today's baseline, so a no-change run writes nothing.
        if (!_latestMissing && Next.Count == _latest.Count && Next.All(e => _latest.TryGetValue(e.Key, out var l) && Same(l, e.Value)))
            return;
        if (!BaselineIsTodays) IncrementalState.Save(BaselinePath(statePath), today, BaselineToSave);
        IncrementalState.Save(statePath, today, Next);
    }

    private static bool Same(FileState a, FileState b) =>
        a.Size == b.Size && a.MtimeSeconds == b.MtimeSeconds && a.MtimeNanos == b.MtimeNanos && a.CtimeSeconds == b.CtimeSeconds &&
        a.CtimeNanos == b.CtimeNanos && a.Inode == b.Inode && a.Sha256.AsSpan().SequenceEqual(b.Sha256);

    private Dictionary<string, FileState> BaselineToSave { get; init; } = new();
    private bool BaselineIsTodays { get; init; }
    private bool _latestMissing;

    public static string BaselinePath(string statePath) =>
        System.IO.Path.ChangeExtension(statePath, ".baseline");

    private static Dictionary<string, FileState> LoadOrEmpty(LoadedState loaded, out string day, Action<string> damaged)
    {
        if (loaded.Result == IncrementalState.LoadResult.Damaged) damaged(loaded.Path);
        day = loaded.Day;
        return loaded.State;
    }
}

/// <summary>A state file as read from disk (or found missing or damaged).</summary>
public sealed record LoadedState(string Path, IncrementalState.LoadResult Result, string Day, Dictionary<string, FileState> State)
{
    public static LoadedState Read(string path)
    {
        var result = IncrementalState.TryLoad(path, out var day, out var state);
        return new LoadedState(path, result, day, state);
    }
}
