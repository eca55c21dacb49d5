using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The sync group (item BackupSyncSettings, EnableBackupS3Extension): SyncToS3's mode, verify only (Cedar's -v) or upload
/// without removing (Cedar's -u), never both (BKP6304). SyncToS3 and Validate parse it here; the folder and the bucket
/// (SyncSource, SyncTarget) are the task's own.
/// </summary>
public sealed record SyncSettings(bool VerifyOnly, bool UploadOnly)
{
    public const string ItemType = "BackupSyncSettings";
    public static readonly string[] Names = { "SyncVerifyOnly", "SyncUploadOnly" };

    public static SyncSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var verifyOnly = r.Flag("SyncVerifyOnly");
        var uploadOnly = r.Flag("SyncUploadOnly");
        if (verifyOnly && uploadOnly) problems.Error("S3.SyncModes");
        return problems.ErrorCount > before ? null : new SyncSettings(verifyOnly, uploadOnly);
    }
}
