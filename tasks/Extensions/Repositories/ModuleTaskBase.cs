using Microsoft.Build.Framework;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Repositories;

/// <summary>The parameters the Subversion, mbox and Git modules share; docs/extensions/repositories.md describes each.</summary>
public abstract class ModuleTaskBase : BackupTask
{
    /// <summary>Where dumps, mailbox extracts and bundles are written.</summary>
    public string? CollectDir { get; set; }
    /// <summary>Where each item's incremental state is kept.</summary>
    public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, Full, lock wait (tasks/Settings/RunSettings.cs).</summary>
    public ITaskItem? RunSettings { get; set; }
    /// <summary>The CollectMode of items without one (daily, weekly, incr).</summary>
    public string? DefaultCollectMode { get; set; }
    /// <summary>The CompressMode of items without one (none, gzip, bzip2).</summary>
    public string? DefaultCompressMode { get; set; }
    /// <summary>Longest run time of one program call, in seconds.</summary>
    public string? TimeoutSeconds { get; set; }

    protected string CollectRoot { get; private set; } = "";
    protected string WorkingRoot { get; private set; } = "";
    protected RunClock Clock { get; private set; } = null!;
    protected bool IsFull { get; private set; }
    private TimeSpan _lockWait;
    protected ModuleCollectMode DefaultMode { get; private set; }
    protected DumpCompression DefaultCompression { get; private set; }
    protected TimeSpan Timeout { get; private set; }

    /// <summary>Reads the shared parameters into <paramref name="problems"/>; false when they cannot be used.</summary>
    protected bool LoadCommon(Problems problems, string itemType, ModuleCollectMode modeFallback, DumpCompression compressionFallback)
    {
        CollectRoot = Values.AbsolutePath(CollectDir, "CollectDir", problems) ?? "";
        WorkingRoot = Values.AbsolutePath(WorkingDir, "WorkingDir", problems) ?? "";
        Timeout = TimeSpan.FromSeconds(Values.Integer(TimeoutSeconds, "TimeoutSeconds", problems, 3600, min: 1));
        DefaultMode = ModuleSettings.CollectMode(DefaultCollectMode, itemType, "(default)", problems, modeFallback) ?? modeFallback;
        DefaultCompression = ModuleSettings.Compression(DefaultCompressMode, itemType, "(default)", problems, compressionFallback) ?? compressionFallback;
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        Clock = run?.Clock!;
        IsFull = run?.Full ?? false;
        _lockWait = run?.LockWait ?? TimeSpan.Zero;
        return !problems.HasErrors;
    }

    /// <summary>
    /// Takes Collect's lock (the modules are part of Collect, and share its folders), creates the
    /// output and state folders and removes temporary files a killed run left.
    /// </summary>
    /// <summary>
    /// Loads the items (reporting every problem first), then backs up each under Collect's lock:
    /// one failing item is a coded error naming it and the others are still done.
    /// Returns the files written, or null when the configuration was wrong.
    /// </summary>
    protected ITaskItem[]? BackEach<T>(Func<Problems, List<T>> load, Func<T, string> name, Func<T, string?> back)
    {
        var problems = new Problems();
        var items = load(problems);
        problems.LogTo(Log);
        if (problems.HasErrors) return null;
        using var collectLock = LockAndPrepareFolders();
        var written = new List<ITaskItem>();
        foreach (var item in items)
        {
            Cancellation.ThrowIfCancellationRequested();
            try
            {
                if (back(item) is { } output) written.Add(new Microsoft.Build.Utilities.TaskItem(output));
            }
            catch (CodedError e)
            {
                LogCodedError(e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogErrorWithCodeFromResources("Repos.WriteFailed", name(item), CollectRoot, e.Message);
            }
        }
        return written.ToArray();
    }

    protected ActionLock LockAndPrepareFolders()
    {
        var collectLock = ActionLock.Acquire(WorkingRoot, "collect", _lockWait, Cancellation);
        PrivateFiles.CreateRoot(CollectRoot);
        Directory.CreateDirectory(WorkingRoot);
        AtomicFile.RemoveLeftovers(CollectRoot);
        AtomicFile.RemoveLeftovers(WorkingRoot);
        return collectLock;
    }

    /// <summary>A state file in WorkingDir: read as text, or null when there is none.</summary>
    protected string? ReadState(string fileName)
    {
        var path = Path.Combine(WorkingRoot, fileName);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    protected void WriteState(string fileName, string value) =>
        AtomicFile.WriteAllBytes(Path.Combine(WorkingRoot, fileName), System.Text.Encoding.UTF8.GetBytes(value + "\n"));
}
