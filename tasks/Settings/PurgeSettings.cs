using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The purge group (item BackupPurgeSettings): whether Purge removes collected files no master has staged too, by
/// RetainDays alone (PurgeUnstagedCollect). Purge and Validate parse it here; the folders are the PurgeDirectory items.
/// </summary>
public sealed record PurgeSettings(bool PurgeUnstagedCollect)
{
    public const string ItemType = "BackupPurgeSettings";
    public static readonly string[] Names = { "PurgeUnstagedCollect" };

    public static PurgeSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var unstaged = r.Flag("PurgeUnstagedCollect");
        return problems.ErrorCount > before ? null : new PurgeSettings(unstaged);
    }
}
