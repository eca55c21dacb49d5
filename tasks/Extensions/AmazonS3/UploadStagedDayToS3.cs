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

    /// <summary>Bucket, optionally with a prefix: "my-bucket" or "my-bucket/backups".</summary>
    [Required] public string Bucket { get; set; } = "";
    /// <summary>Custom endpoint (Ceph RGW, MinIO), addressed path-style.</summary>
    public string? Endpoint { get; set; }
    public string? Region { get; set; }
    public string? FullSizeLimit { get; set; }
    public string? IncrSizeLimit { get; set; }
    public string? WarnMidnight { get; set; }
    /// <summary>Command run per file before upload, with ${input} and ${output}; not a shell string.</summary>
    public string? EncryptCommand { get; set; }
    /// <summary>Longest run of the encrypt command for one file, in seconds (S3EncryptTimeoutSeconds).</summary>
    public string? EncryptTimeoutSeconds { get; set; }
    public string? PartSize { get; set; }
    /// <summary>Compare ETags with the local MD5 (off for SSE-KMS buckets, whose ETags are not MD5s).</summary>
    public string? VerifyChecksum { get; set; }
    public string? StagingDir { get; set; }
    public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, Full, lock wait.</summary>
    public ITaskItem? RunSettings { get; set; }
    /// <summary>S3 Object Lock: days of retention put on every uploaded object (empty: none); the bucket must have Object Lock.</summary>
    public string? ObjectLockDays { get; set; }
    /// <summary>GOVERNANCE (the default: bypassable with s3:BypassGovernanceRetention) or COMPLIANCE (nobody can shorten it).</summary>
    public string? ObjectLockMode { get; set; }

    [Output] public string UploadedDay { get; set; } = "";

    protected override bool Run()
    {
        var problems = new Problems();
        var where = S3Location.Parse(Bucket);
        if (where == null) problems.Error("S3.BadBucket", "S3Bucket", Bucket);
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var warnMidnight = Values.Flag(WarnMidnight, "S3WarnMidnight", problems);
        long? fullLimit = Limit(FullSizeLimit, "S3FullSizeLimit", problems), incrLimit = Limit(IncrSizeLimit, "S3IncrSizeLimit", problems);
        var partSize = S3Settings.PartSize(PartSize, problems);
        var checksums = Values.Flag(VerifyChecksum, "S3VerifyChecksum", problems, fallback: true);
        var retention = Retention(ObjectLockDays, ObjectLockMode, problems);
        var encryptTimeout = Values.Integer(EncryptTimeoutSeconds, "S3EncryptTimeoutSeconds", problems, 3600, min: 1);
        problems.LogTo(Log);
        if (problems.HasErrors || run == null) return false;
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

        var files = S3Settings.Files(dir, "");
        var total = files.Sum(f => new FileInfo(f.Path).Length);
        var limit = full || clock.IsStartOfWeek ? fullLimit : incrLimit;
        if (limit != null && total > limit)
            throw new CodedError("S3.TooBig", dir, total, full || clock.IsStartOfWeek ? "S3FullSizeLimit" : "S3IncrSizeLimit", limit);

        var target = where!.Under(RunClock.DayPath(day.Value));
        string? encrypted = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(EncryptCommand))
            {
                encrypted = Path.Combine(working!, "amazons3-encrypted");
                if (Directory.Exists(encrypted)) Directory.Delete(encrypted, true);
                files = S3Encryption.EncryptAll(EncryptCommand!, dir, encrypted, TimeSpan.FromSeconds(encryptTimeout), Cancellation);
            }
            // Manifests go last: a manifest version in the bucket means the archives it describes were uploaded
            // before it, so an overwritten day's older manifest and archive versions can be told apart (Restore).
            var upload = files.Select(f => f with { Key = target.Prefix + f.Key })
                .OrderBy(f => Path.GetFileName(f.Path).StartsWith(Collect.CollectManifest.FileName, StringComparison.Ordinal) ? 1 : 0).ToList();
            using var s3 = S3Connection.Create(Endpoint, Region);
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

    private static S3Transfer.Retention? Retention(string? days, string? mode, Problems problems)
    {
        var m = string.IsNullOrWhiteSpace(mode) ? "GOVERNANCE" : mode.Trim().ToUpperInvariant();
        if (m != "GOVERNANCE" && m != "COMPLIANCE") problems.Error("S3.BadLockMode", mode ?? "");
        if (string.IsNullOrWhiteSpace(days)) return null;
        if (!int.TryParse(days.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var d) || d < 1 || d > 36500)
        {
            problems.Error("S3.BadLockDays", days);
            return null;
        }
        return new S3Transfer.Retention(m == "COMPLIANCE" ? Amazon.S3.ObjectLockMode.Compliance : Amazon.S3.ObjectLockMode.Governance, d);
    }

    private static long? Limit(string? value, string name, Problems problems)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (ByteQuantity.TryParse(value, out var n)) return n;
        problems.Error("S3.BadSizeLimit", name, value);
        return null;
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
