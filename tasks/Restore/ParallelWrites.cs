using System.Collections.Concurrent;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Restore's file writes on worker threads: the reader hands over a small member's content (read into memory) with
/// its place, held open and already checked (<see cref="SafeExtractor.Prepare"/>), and goes on with the next member
/// while a worker creates, fills, dates and renames the file (<see cref="SafeExtractor.WriteFile(SafeExtractor.Place, TarMember, byte[], int)"/>).
/// Creating files is most of a restore's time (in the kernel: ext4's inode allocation). Each folder belongs to one
/// worker (by its name's hash), so the files of a folder are written in archive order by one thread and two workers
/// never create in the same folder: creating a file holds its folder's lock in the kernel, and two writers in one
/// folder contend on it (2.3x the system time measured), while two folders are created in at once. Results come back
/// to the reader's thread (<see cref="TakeDone"/>), which logs them: nothing is counted or reported written before
/// its worker finished it. <see cref="Drain"/> waits for every handed-over write.
/// </summary>
internal sealed class ParallelWrites : IDisposable
{
    /// <summary>Members up to this size are handed over; larger ones are written by the reader itself.</summary>
    public const long MaxQueued = 1 << 20;
    private const long MaxInFlight = 32 << 20;

    /// <summary>Workers by default: two where there are two cores or more (decompressing and parsing take the rest).</summary>
    public static int DefaultWorkers => Environment.ProcessorCount >= 2 ? 2 : 1;

    private readonly SafeExtractor _extractor;
    private readonly HandOff<Job>[] _jobs; // waits that block at once (BlockingCollection's spin with sched_yield)
    private readonly ConcurrentQueue<(string Rel, TarMember Member, Exception? Error)> _done = new();
    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private long _inFlight;
    private int _pending;
    private int _waiters; // threads in Submit or Drain waiting on _gate: only then does a worker take the lock to wake them

    private sealed record Job(SafeExtractor.Place Place, TarMember Member, byte[] Data, int Length, string Rel);

    // The content buffers, kept for reuse: ArrayPool.Shared keeps a few arrays per size and thread, far fewer than the
    // thousands in flight, so most rents were new zeroed arrays (memset, page faults and GC: about 0.7 s of CPU per
    // 50,000 files). Buckets of powers of two from 4 KiB to MaxQueued; what is kept is bounded by the bytes in flight.
    private const int MinBucketShift = 12;
    private static readonly int Buckets = System.Numerics.BitOperations.Log2((ulong)MaxQueued) - MinBucketShift + 1;
    private readonly ConcurrentQueue<byte[]>[] _free = Enumerable.Range(0, Buckets).Select(_ => new ConcurrentQueue<byte[]>()).ToArray();
    private long _kept;
    private const long MaxKept = 2 * MaxInFlight;

    private static int BucketOf(int length) =>
        length <= 1 << MinBucketShift ? 0 : System.Numerics.BitOperations.Log2((uint)length - 1) + 1 - MinBucketShift;

    private byte[] Rent(int length)
    {
        var bucket = BucketOf(length);
        if (_free[bucket].TryDequeue(out var data))
        {
            Interlocked.Add(ref _kept, -data.Length);
            return data;
        }
        return GC.AllocateUninitializedArray<byte>(1 << (bucket + MinBucketShift));
    }

    private void Return(byte[] data)
    {
        if (Interlocked.Add(ref _kept, data.Length) > MaxKept)
        {
            Interlocked.Add(ref _kept, -data.Length);
            return;
        }
        _free[BucketOf(data.Length)].Enqueue(data);
    }

    public ParallelWrites(SafeExtractor extractor, int workers = 1)
    {
        _extractor = extractor;
        _jobs = Enumerable.Range(0, Math.Max(1, workers)).Select(_ => new HandOff<Job>()).ToArray();
        _workers = _jobs.Select((queue, i) => new Thread(() => Work(queue)) { IsBackground = true, Name = "BackupBuild restore writer " + i }).ToArray();
        foreach (var w in _workers) w.Start();
    }

    /// <summary>Reads the member's content (errors of the archive go to the caller) and hands the write over. Owns <paramref name="place"/> from here on.</summary>
    public void Submit(SafeExtractor.Place place, TarMember member, Stream content, string rel)
    {
        var length = (int)member.Size;
        var data = Rent(length);
        try
        {
            content.ReadExactly(data, 0, length);
        }
        catch
        {
            Return(data);
            place.Dispose();
            throw;
        }
        if (Interlocked.Read(ref _inFlight) is var inFlight && inFlight > 0 && inFlight + length > MaxInFlight)
            WaitUntil(() => Interlocked.Read(ref _inFlight) is var now && (now == 0 || now + length <= MaxInFlight));
        Interlocked.Add(ref _inFlight, length);
        Interlocked.Increment(ref _pending);
        _jobs[WorkerOf(rel)].Add(new Job(place, member, data, length, rel));
    }

    /// <summary>The worker of a member's folder: the same for every file of the folder.</summary>
    private int WorkerOf(string rel)
    {
        if (_jobs.Length == 1) return 0;
        var slash = rel.LastIndexOf('/');
        var folder = slash < 0 ? "" : rel[..slash];
        return (int)((uint)StringComparer.Ordinal.GetHashCode(folder) % (uint)_jobs.Length);
    }

    private void Work(HandOff<Job> jobs)
    {
        while (jobs.Take(out var job))
        {
            Exception? error = null;
            try
            {
                _extractor.WriteFile(job.Place, job.Member, job.Data, job.Length);
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                job.Place.Dispose();
                Return(job.Data);
            }
            _done.Enqueue((job.Rel, job.Member, error));
            // Lock-free unless someone waits: one lock and wake-up per file cost as much as the file's own system calls.
            Interlocked.Add(ref _inFlight, -job.Length);
            Interlocked.Decrement(ref _pending);
            if (Volatile.Read(ref _waiters) > 0)
                lock (_gate) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The writes finished since the last call, each with its failure (an <see cref="ExtractFailure"/>, or anything else a worker met) or null.</summary>
    public List<(string Rel, TarMember Member, Exception? Error)> TakeDone()
    {
        var list = new List<(string, TarMember, Exception?)>();
        while (_done.TryDequeue(out var d)) list.Add(d);
        return list;
    }

    /// <summary>Waits until every write handed over so far is finished (its result is then in <see cref="TakeDone"/>).</summary>
    public void Drain()
    {
        if (Volatile.Read(ref _pending) > 0) WaitUntil(() => Volatile.Read(ref _pending) == 0);
    }

    /// <summary>
    /// Waits on the gate until <paramref name="done"/>. The waiter is counted (a full fence) before the condition is
    /// checked, and a worker changes the counts (full fences) before it looks for waiters: a wake-up is never missed.
    /// </summary>
    private void WaitUntil(Func<bool> done)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _waiters);
            try
            {
                while (!done()) Monitor.Wait(_gate);
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }

    public void Dispose()
    {
        foreach (var q in _jobs) q.Complete();
        foreach (var w in _workers) w.Join();
    }
}
