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
/// Carrying unstaged changes: when the previous collect was not staged by the master (see
/// <see cref="CollectDirStaging"/>), the archive it wrote never reached the master and the next
/// archive replaces it (Cedar's names are the same every day). So a new day's baseline is then the
/// state at the end of the last collect that WAS staged (<c>.staged</c> beside the state, a
/// snapshot taken when a collect finds its predecessor staged), and the first archive that
/// reaches the master brings everything since. Without that snapshot (a state from before it
/// existed, or no collect of this week was staged yet) the baseline is empty: everything. A reset
/// (starting day, Full) removes the snapshot: the week's chain starts again.
///
/// Kill safety: the staged snapshot is taken (<see cref="RecordStaged"/>) before Collect removes
/// cback.stage; the new day's baseline file is written before the state, the state only after the
/// archive. A run that fails or is killed after removing cback.stage is taken as not staged, and the
/// next one carries from the snapshot, which already holds the staged state: never less than needed.
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
    /// <summary>
    /// The next state, started only once it differs from the latest: until then it is the latest's first
    /// <see cref="_same"/> ordered records, so a no-change run writes no state file at all, not even a temporary one.
    /// </summary>
    private StateWriter? _next;
    private long _same;
    private long _recorded;
    private readonly string _statePath;
    private readonly string _today;
    private readonly bool _reset;
    private bool _baselineIsTodays;
    private string? _baselineSource;
    private bool _nextDiffers;

    private IncrementalPlan(StateReader latest, StateReader baseline, bool rehashAll, string statePath, string today, bool reset)
    {
        _latest = latest;
        _baseline = baseline;
        _rehashAll = rehashAll;
        _statePath = statePath;
        _today = today;
        _reset = reset;
        _nextDiffers = latest.Day == "";
        if (_nextDiffers) _next = new StateWriter(statePath, today);
    }

    /// <summary>The day of the last staged collect this archive carries changes from; null when not carrying.</summary>
    public string? CarriedFrom { get; private set; }

    /// <summary>True when the archive holds every file because no staged baseline is known (and one was needed).</summary>
    public bool NoStagedBaseline { get; private set; }

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

    /// <summary>No file is known: <see cref="Decide"/> records nothing, so its calls need not wait for <see cref="Archived"/>.</summary>
    public bool BaselineIsEmpty => _baseline.Count == 0;

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
        _recorded++;
        if (_next == null)
        {
            // Still the latest's records one after the other, the same: nothing to write yet.
            if (_latest.TryFind(path, out var last) && _latest.FoundAt == _same && last.Same(state))
            {
                _same++;
                return;
            }
            StartNext();
        }
        _next!.Add(path, state);
    }

    /// <summary>The state differs from the latest: the next one starts with the latest's records recorded so far.</summary>
    private void StartNext()
    {
        _nextDiffers = true;
        _next = new StateWriter(_statePath, _today);
        if (_same == 0) return;
        // The latest state file is still the one read (Collect holds the action lock); it is checked again on opening.
        using var copy = IncrementalState.Open(_statePath);
        if (copy.Result != IncrementalState.LoadResult.Loaded) throw new IOException($"{_statePath} changed while it was read");
        long n = 0;
        foreach (var (key, state) in copy.All())
        {
            if (n++ == _same) break;
            _next.Add(key, state);
        }
        if (n < _same) throw new IOException($"{_statePath} changed while it was read");
    }

    /// <summary>
    /// Loads the latest state and today's baseline; reports a damaged state through <paramref name="damaged"/>.
    /// <paramref name="previousStaged"/>: the master staged the previous collect (always true when carrying is off).
    /// </summary>
    public static IncrementalPlan Load(string statePath, string today, bool reset, bool rehashAll, Action<string> damaged,
        bool previousStaged = true)
    {
        var latest = Checked(IncrementalState.Open(statePath), damaged);
        StateReader baseline;
        var baselineIsTodays = false;
        string? source = null, carriedFrom = null;
        var noStaged = false;
        if (reset) baseline = StateReader.Empty(BaselinePath(statePath), IncrementalState.LoadResult.Missing);
        else if (latest.Day != today)
        {
            if (previousStaged || latest.Result != IncrementalState.LoadResult.Loaded)
            {
                baseline = latest;
                source = statePath;
            }
            else
            {
                // The previous collect never reached the master: start from the last one that did.
                baseline = Checked(IncrementalState.Open(StagedPath(statePath)), damaged);
                if (baseline.Result == IncrementalState.LoadResult.Loaded)
                {
                    source = StagedPath(statePath);
                    carriedFrom = baseline.Day;
                }
                else noStaged = true;
            }
        }
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
        return new IncrementalPlan(latest, baseline, rehashAll, statePath, today, reset)
        {
            _baselineIsTodays = baselineIsTodays, _baselineSource = source, CarriedFrom = carriedFrom, NoStagedBaseline = noStaged,
        };
    }

    /// <summary>Saves today's baseline (if it is new), the staged snapshot and the latest state, after the archive is complete.</summary>
    public void Save()
    {
        var carrying = !_baselineIsTodays && !_reset && !ReferenceEquals(_baseline, _latest);
        // Nothing changed since the latest state: it still serves as today's baseline, so a no-change run writes no
        // state. Not when carrying: a later run today must keep today's (older) baseline, so it is written down.
        if (_next == null && _recorded == _latest.Count && !carrying) return;
        if (_next == null) StartNext();
        if (!_baselineIsTodays)
        {
            // Today's baseline: the state it was decided against (the latest, the staged snapshot, or nothing when reset).
            using var writer = new StateWriter(BaselinePath(_statePath), _today);
            if (!_reset && _baselineSource != null && _baseline.Day != "")
            {
                using var copy = IncrementalState.Open(_baselineSource);
                foreach (var (key, state) in copy.All()) writer.Add(key, state);
            }
            writer.Commit();
        }
        _next!.Commit();
    }

    /// <summary>
    /// Run for every incr item before Collect removes cback.stage (so a run that fails or is killed later
    /// does not forget it): when the previous collect was staged, its state (the latest, still in place)
    /// becomes the staged snapshot. A reset starts the week's chain again: the old snapshot goes.
    /// </summary>
    public static void RecordStaged(string statePath, bool reset, bool previousStaged)
    {
        var staged = StagedPath(statePath);
        if (reset) File.Delete(staged);
        else if (previousStaged && File.Exists(statePath)) CollectDirStaging.Snapshot(statePath, staged);
    }

    public void Dispose()
    {
        _next?.Dispose();
        _latest.Dispose();
        if (!ReferenceEquals(_latest, _baseline)) _baseline.Dispose();
    }

    public static string BaselinePath(string statePath) =>
        System.IO.Path.ChangeExtension(statePath, ".baseline");

    /// <summary>The state at the end of the last collect the master staged.</summary>
    public static string StagedPath(string statePath) =>
        System.IO.Path.ChangeExtension(statePath, ".staged");

    private static StateReader Checked(StateReader reader, Action<string> damaged)
    {
        if (reader.Result == IncrementalState.LoadResult.Damaged) damaged(reader.Path);
        return reader;
    }
}
