namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Starts writing the restored data to the disk while Restore still writes, so the one syncfs before success
/// (<see cref="SafeExtractor.Sync"/>) finds little left: after every <see cref="Step"/> bytes restored a thread of its
/// own calls syncfs on the destination's file system (the kernel's flusher threads do the writing; this thread only
/// waits). Nothing depends on these flushes: their result is not looked at, and they go through an open file
/// description of their own (<see cref="Beneath.Reopen"/>), so a write-back error is still reported by the final
/// syncfs (BKP4202). Without them the kernel starts writing a 1 GiB restore only 30 s later or at the final syncfs
/// (the dirty-page limits are a tenth of the memory).
/// </summary>
internal sealed class EarlyFlush : IDisposable
{
    /// <summary>Bytes restored between two flushes.</summary>
    public const long Step = 128 << 20;

    private readonly int _fd;
    private readonly long _step;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _signal = new(0);
    private long _written;
    private long _next;
    private int _requested;
    private int _flushes;
    private volatile bool _stop;

    private EarlyFlush(int fd, long step)
    {
        _fd = fd;
        _step = step;
        _next = step;
        _thread = new Thread(Run) { IsBackground = true, Name = "BackupBuild restore flush" };
        _thread.Start();
    }

    /// <summary>A flusher for the file system of the folder held as <paramref name="rootFd"/>; null when it cannot be opened again (nothing is flushed early then).</summary>
    public static EarlyFlush? For(int rootFd, long step = Step)
    {
        if (rootFd < 0) return null;
        var fd = Beneath.Reopen(rootFd, out _);
        return fd < 0 ? null : new EarlyFlush(fd, step);
    }

    /// <summary>The flushes made so far (tests).</summary>
    internal int Flushes => Volatile.Read(ref _flushes);

    /// <summary>Counts <paramref name="bytes"/> restored (from one thread); every step's bytes a flush starts, unless one is running.</summary>
    public void Add(long bytes)
    {
        _written += bytes;
        if (_written < _next) return;
        _next = _written + _step;
        if (Interlocked.Exchange(ref _requested, 1) == 0) _signal.Release();
    }

    private void Run()
    {
        while (true)
        {
            _signal.Wait();
            if (_stop) return;
            Beneath.SyncFileSystem(_fd, out _);
            Interlocked.Increment(ref _flushes);
            Volatile.Write(ref _requested, 0);
        }
    }

    /// <summary>Stops the thread (after the flush it is making, if any).</summary>
    public void Dispose()
    {
        _stop = true;
        _signal.Release();
        _thread.Join();
        _signal.Dispose();
        Beneath.Close(_fd);
    }
}
