using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Cedar Backup's amazons3 extension: the staged day (today, yesterday or tomorrow with cback.stage and
/// without cback.amazons3; today only with Full) goes to s3://bucket/prefix/YYYY/MM/DD/, optionally
/// encrypted first; keys and sizes and checksums are verified; cback.amazons3 is written last.
/// </summary>
public sealed class UploadStagedDayToS3 : BackupTask
{
    public const string Indicator = "cback.amazons3";

    /// <summary>
    /// @(BackupS3Settings): the bucket ("my-bucket" or "my-bucket/backups"), endpoint (Ceph RGW, MinIO: path-style),
    /// region, size limits, S3WarnMidnight, the encrypt command (${input}, ${output}; not a shell string) and its
    /// timeout, part size, ETag checks (off for SSE-KMS buckets) and Object Lock (Settings/AmazonS3Settings).
    /// </summary>
    public ITaskItem? S3Settings { get; set; }
    public string? StagingDir { get; set; }
    public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, Full, lock wait.</summary>
    public ITaskItem? RunSettings { get; set; }

    [Output] public string UploadedDay { get; set; } = "";

    protected override bool Run()
    {
        var problems = new Problems();
        var s3Settings = Settings.AmazonS3Settings.Parse(S3Settings, problems);
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || run == null || s3Settings == null) return false;
        var (where, warnMidnight, retention) = (s3Settings.Location, s3Settings.WarnMidnight, s3Settings.Retention);
        long? fullLimit = s3Settings.FullSizeLimit, incrLimit = s3Settings.IncrSizeLimit;
        var (partSize, checksums, encryptTimeout) = (s3Settings.S3.PartSize, s3Settings.S3.VerifyChecksum, s3Settings.EncryptTimeoutSeconds);
        var (clock, full) = (run.Clock, run.Full);

        using var _ = ActionLock.Acquire(working!, "amazons3", run.LockWait, Cancellation);
        var day = Choose(staging!, clock, full);
        if (day == null)
        {
            Detail("S3.NothingToUpload", staging!);
            return true;
        }
        var dir = Path.Combine(staging!, RunClock.DayPath(day.Value));
        if (warnMidnight && day.Value != clock.Today) Log.LogWarningWithCodeFromResources("S3.CrossedMidnight", dir);

        var files = AmazonS3.S3Settings.Files(dir, "");
        var total = files.Sum(f => new FileInfo(f.Path).Length);
        var limit = full || clock.IsStartOfWeek ? fullLimit : incrLimit;
        if (limit != null && total > limit)
            throw new CodedError("S3.TooBig", dir, total, full || clock.IsStartOfWeek ? "S3FullSizeLimit" : "S3IncrSizeLimit", limit);

        var target = where!.Under(RunClock.DayPath(day.Value));
        string? encrypted = null;
        try
        {
            if (s3Settings.EncryptCommand.Length > 0)
            {
                encrypted = Path.Combine(working!, "amazons3-encrypted");
                if (Directory.Exists(encrypted)) Directory.Delete(encrypted, true);
                files = S3Encryption.EncryptAll(s3Settings.EncryptCommand, dir, encrypted, TimeSpan.FromSeconds(encryptTimeout), Cancellation);
            }
            // Manifests go last: a manifest version in the bucket means the archives it describes were uploaded
            // before it, so an overwritten day's older manifest and archive versions can be told apart (Restore).
            var upload = files.Select(f => f with { Key = target.Prefix + f.Key })
                .OrderBy(f => Path.GetFileName(f.Path).StartsWith(Collect.CollectManifest.FileName, StringComparison.Ordinal) ? 1 : 0).ToList();
            using var s3 = S3Connection.Create(s3Settings.S3.Endpoint, s3Settings.S3.Region);
            var transfer = new S3Transfer(s3, partSize, Cancellation, (name, args) => Detail(name, args), retention);
            transfer.CheckBucket(target.Bucket);
            if (retention != null) transfer.CheckObjectLock(target.Bucket);
            var summary = transfer.Sync(target, upload, removeOthers: true);
            var verify = transfer.Verify(target, upload, checksums);
            if (verify.HasErrors)
            {
                verify.LogTo(Log);
                return false;
            }
            Indicators.Write(dir, Indicator);
            UploadedDay = dir;
            Progress("S3.DayUploaded", dir, target, upload.Count, summary.Uploaded, summary.Unchanged, summary.Removed, summary.BytesUploaded);
            return true;
        }
        finally
        {
            if (encrypted != null && Directory.Exists(encrypted)) Directory.Delete(encrypted, true);
        }
    }

    /// <summary>Cedar's choice: Full → today (uploaded again); otherwise today, yesterday, tomorrow not yet uploaded.</summary>
    internal static DateTime? Choose(string stagingDir, RunClock clock, bool full)
    {
        bool Has(DateTime d, string name) => File.Exists(Path.Combine(stagingDir, RunClock.DayPath(d), name));
        if (full) return Has(clock.Today, Indicators.Stage) ? clock.Today : null;
        foreach (var d in new[] { clock.Today, clock.Today.AddDays(-1), clock.Today.AddDays(1) })
            if (Has(d, Indicators.Stage) && !Has(d, Indicator)) return d;
        return null;
    }
}
