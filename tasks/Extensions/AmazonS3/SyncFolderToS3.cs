using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Cedar's cback3-amazons3-sync: makes s3://bucket/prefix hold exactly the files of a folder
/// (UploadOnly: without removing extra objects; VerifyOnly: no transfer), then verifies every file's
/// key, size and checksum.
/// </summary>
public sealed class SyncFolderToS3 : BackupTask
{
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
    /// <summary>@(BackupS3Settings): its connection part (S3Endpoint, S3Region, S3PartSize, S3VerifyChecksum).</summary>
    public ITaskItem? S3Settings { get; set; }
    /// <summary>@(BackupSyncSettings): SyncVerifyOnly, SyncUploadOnly (Settings/SyncSettings).</summary>
    public ITaskItem? SyncSettings { get; set; }

    protected override bool Run()
    {
        var problems = new Problems();
        var source = Values.AbsolutePath(Source, "SyncSource", problems);
        if (source != null && !Directory.Exists(source)) problems.Error("S3.SyncSourceMissing", source);
        var target = Target.Trim().StartsWith("s3://", StringComparison.OrdinalIgnoreCase) ? S3Location.Parse(Target) : null;
        if (target == null) problems.Error("S3.BadBucket", "SyncTarget", Target);
        var mode = Settings.SyncSettings.Parse(SyncSettings, problems);
        var connection = Settings.AmazonS3Settings.ParseConnection(S3Settings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || connection == null || mode == null) return false;
        var (verifyOnly, uploadOnly) = (mode.VerifyOnly, mode.UploadOnly);
        var (partSize, checksums) = (connection.PartSize, connection.VerifyChecksum);

        var files = AmazonS3.S3Settings.Files(source!, target!.Prefix);
        using var s3 = S3Connection.Create(connection.Endpoint, connection.Region);
        var transfer = new S3Transfer(s3, partSize, Cancellation, (name, args) => Detail(name, args));
        transfer.CheckBucket(target.Bucket);
        if (!verifyOnly)
        {
            var s = transfer.Sync(target, files, removeOthers: !uploadOnly);
            Progress("S3.Synced", source!, target, files.Count, s.Uploaded, s.Unchanged, s.Removed, s.BytesUploaded);
        }
        var verify = transfer.Verify(target, files, checksums);
        verify.LogTo(Log);
        if (verify.HasErrors) return false;
        Progress("S3.Verified", files.Count, source!, target);
        return true;
    }
}
