using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

public sealed partial class CollectWalker
{
    /// <summary>
    /// How many threads list and lstat folders (1: the plain recursive walk). The order of what is handed out does not
    /// depend on it: one thread hands out every entry, in <see cref="WalkOrder"/>; the others only read folders ahead.
    /// </summary>
    public int Threads { get; init; } = Environment.ProcessorCount > 1 ? 2 : 1;

    /// <summary>Folders read ahead and not yet handed out, at most (each holds an open descriptor and its listing).</summary>
    internal const int ReadAhead = 64;

    /// <summary>
    /// Entries of the folders read ahead, at most (the helper stops at whichever bound comes first): about 140 bytes
    /// each while they wait (the name, its lstat). Without it, 64 folders of 1,000 files held 15 MB, and more the more
    /// idle the cores were; 8,192 entries keep the helper far enough ahead to never make the walking thread wait.
    /// </summary>
    internal const int ReadAheadEntries = 8192;

    /// <summary>
    /// Folders the walking thread enters before the helper starts: a small tree (the embedded default's sample folders,
    /// most config folders) is walked sooner by one thread than with a thread to start and wake, and a large one loses
    /// the read-ahead of its first few folders only.
    /// </summary>
    internal const int HelperAfter = 8;

    /// <summary>Starts the helper (set by <see cref="WalkParallel"/> until it has started); folders entered so far.</summary>
    private Action? _startHelper;
    private int _entered;

    /// <summary>A folder with more entries than this is not read ahead: its entries are lstat'ed as they are handed out.</summary>
    internal const int LargeFolder = 8192;

    /// <summary>
    /// One folder of the walk, read (listed and every entry lstat'ed) by whichever thread gets to it first: the
    /// walking thread when it needs it, or the helper ahead of it. Opened relative to its parent's open descriptor,
    /// never through a link.
    /// </summary>
    private sealed class Folder(byte[] path, byte[] nameZ, Posix.DirectoryListing? parent)
    {
        public readonly byte[] Path = path;
        public readonly byte[] NameZ = nameZ;
        public Posix.DirectoryListing? Parent = parent;
        /// <summary>0: not started; 1: being read; 2: read.</summary>
        public int State;
        public Posix.DirectoryListing? Listing;
        public int Errno;
        public bool Ignored;
        public PosixStat?[]? LStats;
        public int[]? Errnos;
        public PosixStat?[]? Targets;
        public Exception? Failure;

        public int Entries => Listing?.Names.Count ?? 0;

        /// <summary>Closes the folder and gives its arrays back for the next folder (<paramref name="pool"/>).</summary>
        public void Close(StatArrays pool)
        {
            Listing?.Dispose();
            Listing = null;
            pool.Return(LStats, Errnos, Targets);
            LStats = null;
            Errnos = null;
            Targets = null;
        }
    }

    /// <summary>
    /// The per-folder arrays of lstat results, reused from one folder to the next. A folder of 1,000 entries needs
    /// about 100 KB of them: allocated anew for every folder they went to the large object heap, which only a full
    /// collection frees, and a walk of a million files raised the process's peak memory by 30–40 MB. Thread-safe.
    /// </summary>
    private sealed class StatArrays
    {
        // Kept for reuse, at most this many slots in all (about 100 bytes each): the folders read ahead and the ones
        // being walked need no more at a time.
        private const int KeptSlots = 4 * ReadAheadEntries;

        private readonly List<PosixStat?[]> _lstats = new();
        private readonly List<int[]> _errnos = new();
        private readonly List<PosixStat?[]> _targets = new();
        private readonly object _free = new();
        private int _kept;

        public PosixStat?[] RentLStats(int count) => Rent(_lstats, count, n => new PosixStat?[n]);

        public int[] RentErrnos(int count) => Rent(_errnos, count, n => new int[n]);

        /// <summary>The link targets of a folder with a symlink (most have none): every slot null.</summary>
        public PosixStat?[] RentTargets(int count) => Rent(_targets, count, n => new PosixStat?[n]);

        public void Return(PosixStat?[]? lstats, int[]? errnos, PosixStat?[]? targets)
        {
            if (targets != null) Array.Clear(targets);
            lock (_free)
            {
                Keep(_lstats, lstats);
                Keep(_errnos, errnos);
                Keep(_targets, targets);
            }
        }

        private void Keep<T>(List<T[]> free, T[]? array)
        {
            if (array == null || _kept + array.Length > KeptSlots) return;
            free.Add(array);
            _kept += array.Length;
        }

        /// <summary>The smallest kept array that holds <paramref name="count"/>, else a new one (a power of two).</summary>
        private T[] Rent<T>(List<T[]> free, int count, Func<int, T[]> create)
        {
            lock (_free)
            {
                var best = -1;
                for (var i = 0; i < free.Count; i++)
                    if (free[i].Length >= count && (best < 0 || free[i].Length < free[best].Length)) best = i;
                if (best >= 0)
                {
                    var found = free[best];
                    free[best] = free[^1];
                    free.RemoveAt(free.Count - 1);
                    _kept -= found.Length;
                    return found;
                }
            }
            return create(Math.Max(64, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count)));
        }
    }

    private readonly StatArrays _statArrays = new();

    /// <summary>
    /// The walk of a tree in which no link is followed (LinkDepth 0), on <see cref="Threads"/> threads. The calling
    /// thread walks depth first exactly as <see cref="Walk"/> does and hands out every entry; a helper thread reads the
    /// folders it will enter next (the pending ones, nearest first) so that their listing and lstat calls run beside
    /// the walking thread's. A folder below the top is opened with openat(parent, name, O_NOFOLLOW|O_DIRECTORY): one
    /// swapped for a link after its parent was listed is refused (reported unreadable, ELOOP), never entered.
    /// </summary>
    private void WalkParallel(byte[] root, Action<WalkEntry> emit)
    {
        _cancel.ThrowIfCancellationRequested();
        if (IsExcluded(root)) return;
        var rootZ = Terminated(root);
        var rootListing = Posix.ListDirectory(rootZ, out var errno);
        if (rootListing == null)
        {
            _unreadable(PosixPath.Decode(root), "directory", errno);
            if (Posix.LStat(rootZ, out _) is { IsSymlink: true } gone) Emit(root, gone, emit);
            return;
        }
        var top = new Folder(root, rootZ, null) { Listing = rootListing, State = 2 };
        var pool = _statArrays;
        // The top folder may be a link (the configured path): it is followed, as the plain walk does, and stored too.
        if (_ignoreFile == null || top.Listing.Names.BinarySearch(_ignoreFile, ByteOrder.Instance) < 0)
        {
            if (Posix.LStat(rootZ, out _) is { IsSymlink: true } self) Emit(root, self, emit);
        }
        else
        {
            top.Close(pool);
            return;
        }
        ReadEntries(top);

        var pending = new List<Folder>();   // the folders still to enter, the next one last
        var gate = new object();
        var done = false;
        // A top folder without subfolders (a small collect dir often is one) has nothing to read ahead: no helper thread.
        // Otherwise the helper starts when the walk enters its HelperAfter-th folder (Take).
        Thread? helper = null;
        _entered = 0;
        _startHelper = HasSubfolders(top)
            ? () =>
            {
                helper = new Thread(() => Help(pending, gate, () => done)) { IsBackground = true, Name = "BackupBuild walk" };
                helper.Start();
            }
            : null;
        try
        {
            Visit(top, pending, gate, emit);
        }
        finally
        {
            _startHelper = null;
            lock (gate)
            {
                done = true;
                Monitor.PulseAll(gate);
            }
            helper?.Join();
            foreach (var f in pending) f.Close(pool);
            foreach (var f in _unwound) f.Close(pool);
            _unwound.Clear();
            top.Close(pool);
        }
    }

    /// <summary>Whether a read folder may have a folder to enter (one not lstat'ed ahead, a large folder, may).</summary>
    private static bool HasSubfolders(Folder folder)
    {
        if (folder.LStats == null) return true;
        for (var i = 0; i < folder.Entries; i++)
            if (folder.LStats[i] is { IsDirectory: true }) return true;
        return false;
    }

    // Runs once per folder, its loop once per entry: compiled optimized at once. (Without the attribute the ReadyToRun
    // image's code runs, which cannot inline CoreLib's helpers: a no-change Collect of 50,000 files took 0.1 s longer.)
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Visit(Folder folder, List<Folder> pending, object gate, Action<WalkEntry> emit)
    {
        var listing = folder.Listing!;
        var names = listing.Names;
        var lazy = folder.LStats == null;
        // The subfolders to enter, queued (nearest last) for the helper before this folder's entries are handed out.
        var subfolders = new List<Folder>();
        for (var i = 0; i < names.Count; i++)
        {
            if (lazy) break;
            if (folder.LStats![i] is { IsDirectory: true } && folder.Targets?[i] == null)
            {
                var child = Child(folder.Path, names[i]);
                if (!IsExcluded(child)) subfolders.Add(new Folder(child, names[i], listing));
            }
        }
        if (subfolders.Count > 0)
            lock (gate)
            {
                for (var i = subfolders.Count - 1; i >= 0; i--) pending.Add(subfolders[i]);
                Monitor.PulseAll(gate);
            }
        var next = 0;
        for (var i = 0; i < names.Count; i++)
        {
            _cancel.ThrowIfCancellationRequested();
            var name = names[i];
            PosixStat? lstat, target;
            int errno;
            if (lazy)
            {
                lstat = listing.LStat(name, out errno);
                target = lstat is { IsSymlink: true } ? listing.Stat(name, out _) : lstat;
            }
            else
            {
                lstat = folder.LStats![i];
                errno = folder.Errnos![i];
                target = folder.Targets?[i] ?? lstat;
            }
            if (lstat is not { } l)
            {
                _unreadable(PosixPath.Decode(Child(folder.Path, name)), "file", errno);
                continue;
            }
            // Cedar asks isfile/isdir, which follow links: a dangling link is neither and is left out.
            if (target is not { } t) continue;
            if (t.IsRegular) EmitIfIncluded(Child(folder.Path, name), l, emit);
            else if (t.IsDirectory)
            {
                if (l.IsSymlink) EmitIfIncluded(Child(folder.Path, name), l, emit);   // LinkDepth 0: stored as a link
                else if (lazy)
                {
                    var child = Child(folder.Path, name);
                    if (IsExcluded(child)) continue;
                    var sub = new Folder(child, name, listing);
                    Read(sub);
                    Enter(sub, pending, gate, emit);
                }
                else if (next < subfolders.Count && ReferenceEquals(subfolders[next].NameZ, name))
                {
                    var sub = Take(subfolders[next++], pending, gate);
                    Enter(sub, pending, gate, emit);
                }
            }
        }
    }

    private void Enter(Folder sub, List<Folder> pending, object gate, Action<WalkEntry> emit)
    {
        var entered = false;
        try
        {
            if (sub.Failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(sub.Failure).Throw();
            if (sub.Ignored) { }
            else if (sub.Listing == null)
            {
                // A folder removed meanwhile, unreadable, or swapped for a link (O_NOFOLLOW: ELOOP/ENOTDIR): not entered.
                _unreadable(PosixPath.Decode(sub.Path), "directory", sub.Errno);
            }
            else Visit(sub, pending, gate, emit);
            entered = true;
        }
        finally
        {
            // Closed once its subtree is done. On a failure (cancelled, an exception from emit) it stays open until the
            // helper has stopped: the helper may still be opening a subfolder relative to it.
            if (entered) sub.Close(_statArrays);
            else _unwound.Add(sub);
        }
    }

    /// <summary>Folders left open by a failed walk, closed once the helper has stopped.</summary>
    private readonly List<Folder> _unwound = new();

    /// <summary>Takes the next folder to enter off the pending list, reading it here unless the helper has it.</summary>
    private Folder Take(Folder folder, List<Folder> pending, object gate)
    {
        if (_startHelper != null && ++_entered >= HelperAfter)
        {
            var start = _startHelper;
            _startHelper = null;
            start();
        }
        lock (gate)
        {
            // The next folder in walk order is always the last one queued: its parent's subfolders were queued
            // before any of them was entered, and each subtree is finished before the next sibling.
            System.Diagnostics.Debug.Assert(ReferenceEquals(pending[^1], folder));
            pending.RemoveAt(pending.Count - 1);
            Monitor.PulseAll(gate);
        }
        if (Interlocked.CompareExchange(ref folder.State, 1, 0) == 0)
        {
            Read(folder);
            return folder;
        }
        // The helper is reading it: read one of the folders after it meanwhile, rather than wait.
        while (Volatile.Read(ref folder.State) != 2)
        {
            Folder? other = null;
            lock (gate)
            {
                for (var i = pending.Count - 1; i >= 0 && other == null; i--)
                    if (pending[i].State == 0) other = pending[i];
                if (other == null || Interlocked.CompareExchange(ref other.State, 1, 0) != 0)
                {
                    other = null;
                    if (Volatile.Read(ref folder.State) != 2) Monitor.Wait(gate, 50);
                }
            }
            if (other != null) Finish(other, gate);
        }
        return folder;
    }

    /// <summary>The helper thread: reads pending folders ahead of the walking thread, nearest first, a bounded number ahead.</summary>
    private void Help(List<Folder> pending, object gate, Func<bool> stop)
    {
        while (true)
        {
            Folder? folder = null;
            lock (gate)
            {
                while (folder == null)
                {
                    if (stop() || _cancel.IsCancellationRequested) return;
                    int ahead = 0, entries = 0;
                    for (var i = pending.Count - 1; i >= 0 && ahead < ReadAhead && entries < ReadAheadEntries; i--)
                    {
                        var f = pending[i];
                        if (f.State != 0)
                        {
                            ahead++;
                            entries += f.Entries;
                            continue;
                        }
                        if (Interlocked.CompareExchange(ref f.State, 1, 0) == 0) folder = f;
                        break;
                    }
                    if (folder == null) Monitor.Wait(gate);
                }
            }
            Finish(folder, gate);
        }
    }

    private void Finish(Folder folder, object gate)
    {
        try
        {
            Read(folder);
        }
        catch (Exception e)
        {
            folder.Failure = e;
        }
        lock (gate)
        {
            Volatile.Write(ref folder.State, 2);
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Opens and lists a folder relative to its parent (no link followed) and lstats its entries.</summary>
    // Runs once per folder, on either thread: compiled optimized at once, as Visit.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Read(Folder folder)
    {
        folder.Listing = Posix.ListDirectoryAt(folder.Parent!, folder.NameZ, out folder.Errno);
        folder.Parent = null;
        if (folder.Listing == null) return;
        if (_ignoreFile != null && folder.Listing.Names.BinarySearch(_ignoreFile, ByteOrder.Instance) >= 0)
        {
            folder.Ignored = true;
            folder.Close(_statArrays);
            return;
        }
        ReadEntries(folder);
    }

    private void ReadEntries(Folder folder)
    {
        var listing = folder.Listing!;
        var names = listing.Names;
        if (names.Count > LargeFolder) return;   // lstat'ed as handed out: a huge folder is not held in memory twice
        var lstats = _statArrays.RentLStats(names.Count);
        var errnos = _statArrays.RentErrnos(names.Count);
        PosixStat?[]? targets = null;
        for (var i = 0; i < names.Count; i++)
        {
            var l = listing.LStat(names[i], out errnos[i]);
            lstats[i] = l;
            if (l is { IsSymlink: true }) (targets ??= _statArrays.RentTargets(names.Count))[i] = listing.Stat(names[i], out _) ?? Dangling;
        }
        folder.LStats = lstats;
        folder.Errnos = errnos;
        folder.Targets = targets;
    }

    /// <summary>The target of a dangling link: neither a file nor a folder (a zero mode), so it is left out.</summary>
    private static readonly PosixStat Dangling = default;
}
