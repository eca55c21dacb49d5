using System.Buffers;
using System.Collections.Concurrent;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Restore's file writes on a worker thread: the reader hands over a small member's content (read into memory) with
/// its place, held open and already checked (<see cref="SafeExtractor.Prepare"/>), and goes on with the next member
/// while a worker creates, fills, dates and renames the file (<see cref="SafeExtractor.WriteFile(SafeExtractor.Place, TarMember, byte[], int)"/>).
/// Creating files is most of a restore's time (in the kernel); a writer of its own keeps at it while this thread parses
/// and the read-ahead decompresses. (Two writers in one folder contend in the kernel: 2.3x the system time measured.) Results come back to the reader's thread (<see cref="TakeDone"/>), which logs them: nothing is
/// counted or reported written before its worker finished it. <see cref="Drain"/> waits for every handed-over write.
/// </summary>
internal sealed class ParallelWrites : IDisposable
{
    /// <summary>Members up to this size are handed over; larger ones are written by the reader itself.</summary>
    public const long MaxQueued = 1 << 20;
    private const long MaxInFlight = 32 << 20;

    private readonly SafeExtractor _extractor;
    private readonly BlockingCollection<Job> _jobs = new();
    private readonly ConcurrentQueue<(string Rel, TarMember Member, Exception? Error)> _done = new();
    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private long _inFlight;
    private int _pending;

    private sealed record Job(SafeExtractor.Place Place, TarMember Member, byte[] Data, int Length, string Rel);

    public ParallelWrites(SafeExtractor extractor, int workers = 1)
    {
        _extractor = extractor;
        _workers = Enumerable.Range(0, workers).Select(i => new Thread(Work) { IsBackground = true, Name = "BackupBuild restore writer " + i }).ToArray();
        foreach (var w in _workers) w.Start();
    }

    /// <summary>Reads the member's content (errors of the archive go to the caller) and hands the write over. Owns <paramref name="place"/> from here on.</summary>
    public void Submit(SafeExtractor.Place place, TarMember member, Stream content, string rel)
    {
        var length = (int)member.Size;
        var data = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            content.ReadExactly(data, 0, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(data);
            place.Dispose();
            throw;
        }
        lock (_gate)
        {
            while (_inFlight > 0 && _inFlight + length > MaxInFlight) Monitor.Wait(_gate);
            _inFlight += length;
            _pending++;
        }
        _jobs.Add(new Job(place, member, data, length, rel));
    }

    private void Work()
    {
        foreach (var job in _jobs.GetConsumingEnumerable())
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
                ArrayPool<byte>.Shared.Return(job.Data);
            }
            _done.Enqueue((job.Rel, job.Member, error));
            lock (_gate)
            {
                _inFlight -= job.Length;
                _pending--;
                Monitor.PulseAll(_gate);
            }
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
        lock (_gate)
            while (_pending > 0) Monitor.Wait(_gate);
    }

    public void Dispose()
    {
        _jobs.CompleteAdding();
        foreach (var w in _workers) w.Join();
        _jobs.Dispose();
    }
}
