using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Collect;

/// <summary>The parameters ComputeCollectStamp and CollectArchives share; docs/configuration.md describes each.</summary>
public abstract class CollectTaskBase : BackupTask, ICollectParameters
{
    /// <summary>CollectDirectory items: folders to archive, one archive each.</summary>
    public ITaskItem[]? CollectDirectories { get; set; }
    /// <summary>CollectFile items: single files to archive.</summary>
    public ITaskItem[]? CollectFiles { get; set; }
    /// <summary>Where archives and cback.collect are written.</summary>
    [Required] public string? CollectDir { get; set; }
    /// <summary>Where incremental state and locks live.</summary>
    [Required] public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, Full, lock wait.</summary>
    public ITaskItem? RunSettings { get; set; }
    /// <summary>@(BackupCollectSettings): the items' default modes and ignore file, global excludes, rehash, carry, compression.</summary>
    public ITaskItem? CollectSettings { get; set; }
    /// <summary>The staging dir and the disc image: Collect refuses to archive them (BKP1600).</summary>
    public string? StagingDir { get; set; }
    public string? StoreImageFile { get; set; }

    /// <summary>What the backup writes; none of it may lie inside a collected folder (docs/actions/other.md).</summary>
    protected IEnumerable<(string Name, string? Path)> Outputs() => new[]
    {
        ("CollectDir", CollectDir), ("StagingDir", StagingDir), ("WorkingDir", WorkingDir), ("StoreImageFile", StoreImageFile),
    };

    /// <summary>Parses and validates; logs every problem and returns null when the configuration cannot be used.</summary>
    protected CollectConfiguration? LoadConfiguration()
    {
        var problems = new Problems();
        var config = CollectConfiguration.Parse(this, problems);
        if (config != null) Validate.SelfFeeding.CheckCollected(config.Sources, Outputs(), (r, a) => problems.Error(r, a));
        problems.LogTo(Log);
        return problems.HasErrors ? null : config;
    }
}
