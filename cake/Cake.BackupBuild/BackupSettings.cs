using Cake.Core.IO;

namespace Cake.BackupBuild;

/// <summary>How to run one BackupBuild action: the project, the run date and any other property.</summary>
/// <remarks>
/// Every value reaches MSBuild as a global property (<c>-p:Name=Value</c>), escaped so that no value can add a
/// second property or an MSBuild expression. Secrets never go here: BackupBuild reads them from files
/// (binary logs and <c>ps</c> would show a property).
/// </remarks>
public class BackupSettings
{
    /// <summary>The site's backup.proj (default: backup.proj in the working directory).</summary>
    public FilePath? Project { get; set; }

    /// <summary>Act as of this local date or date and time (BackupRunDate: yyyy-MM-dd or yyyy-MM-ddTHH:mm).</summary>
    public string? RunDate { get; set; }

    /// <summary>Cedar Backup's full backup (Full=true).</summary>
    public bool? Full { get; set; }

    /// <summary>Only this peer (BackupPeer), for actions that take it.</summary>
    public string? Peer { get; set; }

    /// <summary>MSBuild verbosity: quiet, minimal, normal, detailed or diagnostic (default minimal).</summary>
    public string? Verbosity { get; set; }

    /// <summary>The dotnet program (default: Cake's tool resolution for "dotnet", else "dotnet" on PATH).</summary>
    public FilePath? DotNetPath { get; set; }

    /// <summary>Any other property, by its name in docs/configuration.md.</summary>
    public IDictionary<string, string> Properties { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Sets a property and returns these settings, for chaining.</summary>
    public BackupSettings WithProperty(string name, string value)
    {
        Properties[name] = value;
        return this;
    }

    internal virtual IEnumerable<KeyValuePair<string, string>> TypedProperties()
    {
        if (RunDate != null) yield return new("BackupRunDate", RunDate);
        if (Full != null) yield return new("Full", Full.Value ? "true" : "false");
        if (Peer != null) yield return new("BackupPeer", Peer);
    }
}

/// <summary>Settings of Restore (docs/actions/restore.md).</summary>
public class BackupRestoreSettings : BackupSettings
{
    /// <summary>Where the files go (RestoreTo, required): a path on the peer comes back beneath it.</summary>
    public DirectoryPath? RestoreTo { get; set; }

    /// <summary>The file or folder to restore, an absolute path on the peer (RestorePath; default / = everything).</summary>
    public string? Path { get; set; }

    /// <summary>The peer whose files are restored (RestorePeer; default this machine).</summary>
    public string? RestorePeer { get; set; }

    /// <summary>As of this day (RestoreDate, yyyy-MM-dd; default the newest stored day).</summary>
    public string? RestoreDate { get; set; }

    /// <summary>List what would be written, write nothing (RestoreDryRun).</summary>
    public bool? DryRun { get; set; }

    /// <summary>Replace files that exist under RestoreTo (RestoreOverwrite).</summary>
    public bool? Overwrite { get; set; }

    internal override IEnumerable<KeyValuePair<string, string>> TypedProperties()
    {
        foreach (var p in base.TypedProperties()) yield return p;
        if (RestoreTo != null) yield return new("RestoreTo", RestoreTo.FullPath);
        if (Path != null) yield return new("RestorePath", Path);
        if (RestorePeer != null) yield return new("RestorePeer", RestorePeer);
        if (RestoreDate != null) yield return new("RestoreDate", RestoreDate);
        if (DryRun != null) yield return new("RestoreDryRun", DryRun.Value ? "true" : "false");
        if (Overwrite != null) yield return new("RestoreOverwrite", Overwrite.Value ? "true" : "false");
    }
}

/// <summary>Settings of Find (docs/actions/restore.md).</summary>
public class BackupFindSettings : BackupSettings
{
    /// <summary>The name or pattern to find (FindPattern, required), such as report.txt or /srv/**/*.conf.</summary>
    public string? Pattern { get; set; }

    /// <summary>Only this peer's files (FindPeer).</summary>
    public string? FindPeer { get; set; }

    internal override IEnumerable<KeyValuePair<string, string>> TypedProperties()
    {
        foreach (var p in base.TypedProperties()) yield return p;
        if (Pattern != null) yield return new("FindPattern", Pattern);
        if (FindPeer != null) yield return new("FindPeer", FindPeer);
    }
}
