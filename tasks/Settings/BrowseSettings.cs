using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The browse group (item BackupBrowseSettings): what -t:Browse does with a client's stored versions (BrowseCommand), the
/// retention of prune (BrowseKeepLast, BrowseKeepDays: 0 keeps none by that rule) and whether remove and prune only
/// say what they would do (BrowseDryRun). Browse and Validate parse it here; the selection (BrowseClient, BrowsePath,
/// BrowseFrom, BrowseTo, BrowseVersions, BrowseExportDir) is the task's own.
/// </summary>
public sealed record BrowseSettings(string Command, int KeepLast, int KeepDays, bool DryRun)
{
    public const string ItemType = "BackupBrowseSettings";
    public static readonly string[] Names = { "BrowseCommand", "BrowseKeepLast", "BrowseKeepDays", "BrowseDryRun" };

    private static readonly string[] Commands = ["list", "verify", "export", "remove", "prune"];

    public static BrowseSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var text = r.Required("BrowseCommand");
        var command = text.ToLowerInvariant();
        if (text.Length > 0 && !Commands.Contains(command)) problems.Error("Browse.BadCommand", text);
        var keepLast = r.Integer("BrowseKeepLast", 0);
        var keepDays = r.Integer("BrowseKeepDays", 0);
        var dryRun = r.Flag("BrowseDryRun");
        if (problems.ErrorCount == before && command == "prune" && keepLast == 0 && keepDays == 0) problems.Error("Browse.PruneNeedsPolicy");
        return problems.ErrorCount > before ? null : new BrowseSettings(command, keepLast, keepDays, dryRun);
    }
}
