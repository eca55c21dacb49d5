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
///
/// Entries must be decided in walk order: the states are read alongside (see <see cref="StateReader"/>)
/// and the next state is written as the walk goes, so memory does not grow with the number of files.
/// </summary>
public sealed class IncrementalPlan : IDisposable
{
    private readonly StateReader _latest;
    private readonly StateReader _baseline;
    private readonly bool _rehashAll;
    private readonly StateWriter _next;
    private readonly string _statePath;
    private readonly string _today;
    private readonly bool _reset;
    private bool _baselineIsTodays;
    private bool _nextDiffers;

    private IncrementalPlan(StateReader latest, StateReader baseline, bool rehashAll, string statePath, string today, bool reset)
    {
        _latest = latest;
        _baseline = baseline;
        _rehashAll = rehashAll;
        _statePath = statePath;
        _today = today;
        _reset = reset;
        _next = new StateWriter(statePath, today);
        _nextDiffers = latest.Day == "";
    }

    /// <summary>
    /// The day of the collect whose state today's archive is the difference from (yyyy-MM-dd): the archive holds
    /// every change since that collect, so Restore needs that day's archives (or older ones) too. Null when the
    /// archive holds everything (no state, reset) or when it is not known (a second run of the day: its baseline
    /// was saved under today's date).
    /// </summary>
    public string? BaselineDay => _reset || _baseline.Day == "" || _baseline.Day == _today ? null : _baseline.Day;

    /// <summary>
    /// The day of the latest collect before today that changed this item's state (yyyy-MM-dd), or null (none, or not
    /// known on a second run of the day). It differs from <see cref="BaselineDay"/> only when today's archive carries
    /// the changes of collects that were never staged.
    /// </summary>
    public string? LatestDay => _latest.Day == "" || _latest.Day == _today ? null : _latest.Day;

    /// <summary>Files hashed to decide (their content was read once before archiving).</summary>
    public int Hashed { get; private set; }

    public enum Decision { Skip, Archive, ArchiveAndHash }

    /// <summary>What to do with one walk entry. Symlinks are always archived (as Cedar does).</summary>
    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public Decision Decide(in WalkEntry e, Func<WalkEntry, byte[]?> hash)
    {
        if (!e.Stat.IsRegular) return Decision.Archive;
        if (!_baseline.TryFind(e.PathBytes, out var before)) return Decision.ArchiveAndHash;

        byte[]? now = null;
        if (!_rehashAll)
        {
            if (before.SameStat(e.Stat)) now = before.Sha256;
            else if (!ReferenceEquals(_latest, _baseline) && _latest.TryFind(e.PathBytes, out var last) && last.SameStat(e.Stat)) now = last.Sha256;
        }
        if (now == null)
        {
            now = hash(e);
            Hashed++;
            if (now == null) return Decision.ArchiveAndHash;
        }
        Record(e.PathBytes, FileState.From(e.Stat, now));
        return now.AsSpan().SequenceEqual(before.Sha256) ? Decision.Skip : Decision.Archive;
    }

    /// <summary>Records a file's hash taken while archiving it.</summary>
    public void Archived(byte[] path, in PosixStat stat, byte[] sha256) => Record(path, FileState.From(stat, sha256));

    private void Record(byte[] path, FileState state)
    {
        _next.Add(path, state);
        if (!_nextDiffers && !(_latest.TryFind(path, out var last) && last.Same(state))) _nextDiffers = true;
    }

    /// <summary>Loads the latest state and today's baseline; reports a damaged state through <paramref name="damaged"/>.</summary>
    public static IncrementalPlan Load(string statePath, string today, bool reset, bool rehashAll, Action<string> damaged)
    {
        var latest = Checked(IncrementalState.Open(statePath), damaged);
        StateReader baseline;
        var baselineIsTodays = false;
        if (reset) baseline = StateReader.Empty(BaselinePath(statePath), IncrementalState.LoadResult.Missing);
        else if (latest.Day != today) baseline = latest;
        else
        {
            baseline = Checked(IncrementalState.Open(BaselinePath(statePath)), damaged);
            if (baseline.Day != today)
            {
                baseline.Dispose();
                baseline = StateReader.Empty(BaselinePath(statePath), IncrementalState.LoadResult.Missing);
            }
            else baselineIsTodays = true;
        }
        return new IncrementalPlan(latest, baseline, rehashAll, statePath, today, reset) { _baselineIsTodays = baselineIsTodays };
    }

    /// <summary>Saves today's baseline (if it is new) and the latest state, after the archive is complete.</summary>
    public void Save()
    {
        // Nothing changed since the latest state: it still serves as today's baseline, so a no-change run writes nothing.
        if (!_nextDiffers && _next.Count == _latest.Count)
        {
            _next.Dispose();
            return;
        }
        if (!_baselineIsTodays)
        {
            // Today's baseline is the latest state as it was before today's first change (or nothing, when reset).
            using var writer = new StateWriter(BaselinePath(_statePath), _today);
            if (!_reset && _latest.Day != _today && _latest.Day != "")
            {
                using var copy = IncrementalState.Open(_statePath);
                foreach (var (key, state) in copy.All()) writer.Add(key, state);
            }
            writer.Commit();
        }
        _next.Commit();
    }

    public void Dispose()
    {
        _next.Dispose();
        _latest.Dispose();
        if (!ReferenceEquals(_latest, _baseline)) _baseline.Dispose();
    }

    public static string BaselinePath(string statePath) =>
        System.IO.Path.ChangeExtension(statePath, ".baseline");

    private static StateReader Checked(StateReader reader, Action<string> damaged)
    {
        if (reader.Result == IncrementalState.LoadResult.Damaged) damaged(reader.Path);
        return reader;
    }
}
