namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Calls a report at a fixed interval from its own thread until disposed. A thread of its own,
/// not a thread-pool timer: a busy pool (compression, the test runner) would delay the reports.
/// </summary>
public sealed class ProgressTicker : IDisposable
{
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;

    public ProgressTicker(TimeSpan interval, Action report)
    {
        _thread = new Thread(() =>
        {
            while (!_stop.Wait(interval)) report();
        }) { IsBackground = true, Name = "BackupBuild progress" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
