namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Keeps two runs of the same action on one machine from interleaving: an exclusive lock on
/// a file in the working dir, held for the action's duration. The second run waits up to a
/// timeout, then fails with a coded error.
/// </summary>
public sealed class ActionLock : IDisposable
{
    private readonly FileStream _stream;

    private ActionLock(FileStream stream) => _stream = stream;

    public static ActionLock Acquire(string workingDir, string action, TimeSpan wait, CancellationToken cancel)
    {
        PrivateFiles.CreateRoot(workingDir);
        var path = Path.Combine(workingDir, action.ToLowerInvariant() + ".lock");
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes an advisory flock(LOCK_EX) that other runs respect.
                return new ActionLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(250));
                cancel.ThrowIfCancellationRequested();
            }
            catch (IOException)
            {
                throw new CodedError("Common.Locked", action, path, (int)wait.TotalSeconds);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
