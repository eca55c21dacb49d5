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
    /// <summary>
    /// The module's group (@(BackupGitSettings), @(BackupMboxSettings), @(BackupSubversionSettings)): the CollectMode
    /// (daily, weekly, incr) and CompressMode (none, gzip, bzip2) of items without one, and the longest run of one
    /// program call in seconds (Settings/ModuleGroups).
    /// </summary>
    public ITaskItem? GroupSettings { get; set; }
    /// <summary>@(BackupProgramSettings): the programs the module runs (<see cref="ProgramNames"/>; Settings/ProgramSettings).</summary>
    public ITaskItem? ProgramSettings { get; set; }

    /// <summary>The settings of the programs group this module runs (GitPath…).</summary>
    protected abstract string[] ProgramNames { get; }

    /// <summary>The program a setting of <see cref="ProgramNames"/> names, once <see cref="LoadCommon"/> accepted it.</summary>
    protected string Program(string setting) => _programs![setting];
    private Settings.ProgramSettings? _programs;

    /// <summary>Which module's group <see cref="GroupSettings"/> is.</summary>
    protected abstract Settings.ModuleGroup Group { get; }

    /// <summary>For tests that run a module in process: the group it reads.</summary>
    internal Settings.ModuleGroup ModuleGroup => Group;

    protected string CollectRoot { get; private set; } = "";
    protected string WorkingRoot { get; private set; } = "";
    protected RunClock Clock { get; private set; } = null!;
    protected bool IsFull { get; private set; }
    private TimeSpan _lockWait;
    protected ModuleCollectMode DefaultMode { get; private set; }
    protected DumpCompression DefaultCompression { get; private set; }
    protected TimeSpan Timeout { get; private set; }
    private Settings.ModuleGroup.Parsed? _group;

    /// <summary>
    /// The item's own CollectMode or CompressMode: empty when it carries the property's value (the ItemDefinitionGroup in
    /// targets/BackupBuild.props gives every item the property), so a bad property is reported once, for the property.
    /// Set to nothing (<c>CollectMode=""</c>, or an item defined before the props) is BKP1151 naming the item, as for
    /// every metadata the props give a default (Settings/ItemMetadata).
    /// </summary>
    protected string Own(ITaskItem item, string itemType, string metadata, Problems problems)
    {
        var value = item.GetMetadata(metadata);
        if (value.Trim().Length == 0) problems.Error("Config.MissingItemMetadata", itemType, item.ItemSpec, metadata);
        var inherited = metadata == "CollectMode" ? _group?.CollectMode : _group?.CompressMode;
        return value.Trim() == inherited ? "" : value;
    }

    /// <summary>
    /// For Validate: reads the items and the shared parameters exactly as the run does, into <paramref name="problems"/>,
    /// touching nothing on disk.
    /// </summary>
    internal abstract void Check(Problems problems);

    /// <summary>Reads the shared parameters into <paramref name="problems"/>; false when they cannot be used.</summary>
    protected bool LoadCommon(Problems problems, string itemType)
    {
        CollectRoot = Values.AbsolutePath(CollectDir, "CollectDir", problems) ?? "";
        WorkingRoot = Values.AbsolutePath(WorkingDir, "WorkingDir", problems) ?? "";
        // The group's values are checked (Config.BadChoice for a mode); an empty CompressMode is a module without one.
        _group = Group.Parse(GroupSettings, problems);
        if (_group is { } group)
        {
            Timeout = TimeSpan.FromSeconds(group.TimeoutSeconds);
            DefaultMode = Repositories.ModuleSettings.CollectMode(group.CollectMode, itemType, "(default)", problems, ModuleCollectMode.Daily)!.Value;
            DefaultCompression = Repositories.ModuleSettings.Compression(group.CompressMode, itemType, "(default)", problems, DumpCompression.None)!.Value;
        }
        _programs = Settings.ProgramSettings.Parse(ProgramSettings, problems, ProgramNames);
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
