using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using BackupBuild.Tests.Reliability;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>
/// What the store tier promises on a real Ceph RADOS Gateway: checksums stored and read back, abandoned multipart
/// uploads removed, unchanged days not sent again, Object Lock retention on every object (a delete refused by the
/// server), and uploads killed at many points.
/// </summary>
[Collection(CephCollection.Name)]
public class S3IntegrityTests(CephRgw s3)
{
    private const string RunDate = "2026-11-24T01:00";
    private const string Day = "2026/11/24";

    private BackupProject Pool(TempDir t, string bucket, int subfolders = 0, int bytes = 0)
    {
        t.File("src/data/report.txt", "quarterly report\n");
        var random = new Random(21);
        for (var i = 0; i < subfolders; i++)
        {
            var b = new byte[bytes];
            random.NextBytes(b);
            Directory.CreateDirectory(t[$"src/data/d{i}"]);
            File.WriteAllBytes(t[$"src/data/d{i}/disk.img"], b);
        }
        var p = new BackupProject(t.Path)
            .Property("S3Bucket", bucket)
            .Property("S3Endpoint", s3.Endpoint)
            .Property("S3PartSize", "5 MB")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/data"], ("CollectMode", "daily"), ("ArchiveMode", "tar"), ("RecursionLevel", subfolders > 0 ? "1" : "0"));
        foreach (var (k, v) in CephRgw.Credentials) p.Environment[k] = v;
        return p;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    private List<MultipartUpload> Pending(AmazonS3Client c, string bucket) =>
        c.ListMultipartUploadsAsync(bucket).GetAwaiter().GetResult().MultipartUploads ?? new List<MultipartUpload>();

    [Fact]
    public void Sync_stores_a_sha256_per_object_aborts_abandoned_uploads_skips_unchanged_files_and_verify_reads_the_sha256_back()
    {
        using var t = new TempDir();
        var bucket = s3.Bucket("integrity");
        var big = new byte[12 * 1024 * 1024];
        new Random(7).NextBytes(big);
        Directory.CreateDirectory(t["folder"]);
        File.WriteAllBytes(t["folder/big.bin"], big);
        t.File("folder/small.txt", "small\n");
        var big2 = new byte[11 * 1024 * 1024];
        new Random(8).NextBytes(big2);
        File.WriteAllBytes(t["folder/big2.bin"], big2);
        using var c = s3.Client();
        // A killed run's upload of big2.bin: its first part is stored, its second was refused for a bad Content-MD5.
        var resumable = c.InitiateMultipartUploadAsync(bucket, "copy/big2.bin").GetAwaiter().GetResult();
        const int part = 5 * 1024 * 1024;
        c.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket, Key = "copy/big2.bin", UploadId = resumable.UploadId, PartNumber = 1,
            InputStream = new MemoryStream(big2, 0, part), MD5Digest = Convert.ToBase64String(MD5.HashData(big2.AsSpan(0, part))),
        }).GetAwaiter().GetResult();
        var refused = Assert.ThrowsAny<AmazonS3Exception>(() => c.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket, Key = "copy/big2.bin", UploadId = resumable.UploadId, PartNumber = 2,
            InputStream = new MemoryStream(big2, part, part), MD5Digest = Convert.ToBase64String(MD5.HashData(big2.AsSpan(0, part))),
        }).GetAwaiter().GetResult());
        Assert.Equal("BadDigest", refused.ErrorCode); // the server checks every part's Content-MD5
        // Left behind by killed runs: an upload of a file that is gone, and one of big.bin whose part differs.
        c.InitiateMultipartUploadAsync(bucket, "copy/gone.bin").GetAwaiter().GetResult();
        var stale = c.InitiateMultipartUploadAsync(bucket, "copy/big.bin").GetAwaiter().GetResult();
        c.UploadPartAsync(new UploadPartRequest
        {
            BucketName = bucket, Key = "copy/big.bin", UploadId = stale.UploadId, PartNumber = 1,
            InputStream = new MemoryStream(new byte[5 * 1024 * 1024]),
        }).GetAwaiter().GetResult();

        var p = new BackupProject(t.Path);
        foreach (var (k, v) in CephRgw.Credentials) p.Environment[k] = v;
        string[] Props(params string[] extra) =>
            new[] { "SyncSource=" + t["folder"], $"SyncTarget=s3://{bucket}/copy", "S3Endpoint=" + s3.Endpoint, "S3PartSize=5 MB" }.Concat(extra).ToArray();
        var sync = p.Run("SyncToS3", Props());
        Assert.True(sync.ExitCode == 0, sync.All);
        Assert.Contains($"aborted the abandoned multipart upload of s3://{bucket}/copy/gone.bin", sync.All);
        Assert.Contains($"aborted the abandoned multipart upload of s3://{bucket}/copy/big.bin", sync.All);
        Assert.Contains($"resuming the multipart upload of \"{t["folder/big2.bin"]}\" to s3://{bucket}/copy/big2.bin: 1 of 3 parts", sync.All);
        Assert.Empty(Pending(c, bucket));
        Assert.Contains("(3 uploaded, 0 already there", sync.All);

        // The SHA-256 of each file is stored with its object and read back.
        foreach (var name in new[] { "big.bin", "big2.bin", "small.txt" })
        {
            var head = c.GetObjectMetadataAsync(bucket, "copy/" + name).GetAwaiter().GetResult();
            Assert.Equal(Sha256(t["folder/" + name]), head.Metadata["x-amz-meta-backupbuild-sha256"]);
        }
        Assert.EndsWith("-3\"", c.GetObjectMetadataAsync(bucket, "copy/big.bin").GetAwaiter().GetResult().ETag); // three parts

        var again = p.Run("SyncToS3", Props());
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("(0 uploaded, 3 already there", again.All);

        // An object whose stored SHA-256 disagrees with the local file (its ETag still matches) fails Verify.
        c.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = bucket, SourceKey = "copy/small.txt", DestinationBucket = bucket, DestinationKey = "copy/small.txt",
            MetadataDirective = S3MetadataDirective.REPLACE,
            Metadata = { ["backupbuild-sha256"] = new string('0', 64) },
        }).GetAwaiter().GetResult();
        var verify = p.Run("SyncToS3", Props("SyncVerifyOnly=true"));
        Assert.NotEqual(0, verify.ExitCode);
        Assert.Contains($"error BKP6343: Verify: s3://{bucket}/copy/small.txt carries the SHA-256 {new string('0', 64)}", verify.All);
    }

    [Fact]
    public void Object_lock_puts_a_compliance_retention_on_every_object_and_the_server_refuses_to_delete_them()
    {
        using var t = new TempDir();
        var locked = s3.Bucket("locked", objectLock: true);
        var p = Pool(t, locked).Property("S3ObjectLockDays", "2").Property("S3ObjectLockMode", "COMPLIANCE");
        var run = p.Run("All", "BackupRunDate=" + RunDate);
        Assert.True(run.ExitCode == 0, run.All);
        var day = Path.Combine(p.StagingDir, Day);
        Assert.True(File.Exists(Path.Combine(day, "cback.amazons3")), run.All);

        using var c = s3.Client();
        var versions = c.ListVersionsAsync(new ListVersionsRequest { BucketName = locked }).GetAwaiter().GetResult().Versions;
        Assert.NotEmpty(versions);
        foreach (var v in versions)
        {
            var r = c.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = locked, Key = v.Key, VersionId = v.VersionId })
                .GetAwaiter().GetResult().Retention;
            Assert.Equal(ObjectLockRetentionMode.Compliance, r.Mode);
            Assert.True(r.RetainUntilDate > DateTime.UtcNow.AddDays(1.9), $"{v.Key}: retained until {r.RetainUntilDate:u}");
            // A compromised master cannot remove the day: the server refuses to delete the version.
            var e = Assert.ThrowsAny<AmazonS3Exception>(() =>
                c.DeleteObjectAsync(new DeleteObjectRequest { BucketName = locked, Key = v.Key, VersionId = v.VersionId }).GetAwaiter().GetResult());
            Assert.Equal("AccessDenied", e.ErrorCode);
            // Nor shorten the retention.
            Assert.ThrowsAny<AmazonS3Exception>(() => c.PutObjectRetentionAsync(new PutObjectRetentionRequest
            {
                BucketName = locked, Key = v.Key, VersionId = v.VersionId,
                Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Compliance, RetainUntilDate = DateTime.UtcNow.AddHours(1) },
            }).GetAwaiter().GetResult());
        }
        Assert.Equal(versions.Count, c.ListVersionsAsync(new ListVersionsRequest { BucketName = locked }).GetAwaiter().GetResult().Versions.Count);

        // A plain delete only hides the day behind delete markers; with staging and the image gone, Restore
        // and Find still read it from the retained versions.
        foreach (var v in versions) c.DeleteObjectAsync(locked, v.Key).GetAwaiter().GetResult();
        Assert.Empty(c.ListObjectsV2Async(new ListObjectsV2Request { BucketName = locked }).GetAwaiter().GetResult().S3Objects ?? new List<S3Object>());
        Directory.Delete(p.StagingDir, true);
        File.Delete(Path.Combine(p.Root, "media/backup.iso"));
        var to = t["restored"];
        var restore = p.Run("Restore", "RestorePeer=master", "RestoreDate=2026-11-24", "RestoreTo=" + to);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal("quarterly report\n", File.ReadAllText(to + t["src/data/report.txt"]));
        Assert.Contains("?versionId=", restore.Output);
        var verify = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("0 bad, 0 missing", verify.Output);
    }

    [Fact]
    public void A_day_uploaded_again_stays_restorable_as_of_its_first_upload_and_verify_reads_each_upload_against_its_own_manifest()
    {
        using var t = new TempDir();
        var bucket = s3.Bucket("versions", versioning: true);
        var p = Pool(t, bucket);
        var first = p.Run("Collect;Stage;UploadStagedDayToS3", "BackupRunDate=" + RunDate);
        Assert.True(first.ExitCode == 0, first.All);
        var firstReport = File.ReadAllBytes(t["src/data/report.txt"]);
        Thread.Sleep(1500); // the two uploads are told apart by their upload time, to the second
        t.File("src/data/report.txt", "quarterly report, corrected\n");
        t.File("src/data/late.txt", "added after the first upload\n");
        var second = p.Run("Collect;Stage;UploadStagedDayToS3", "BackupRunDate=" + RunDate, "Full=true");
        Assert.True(second.ExitCode == 0, second.All);

        using var c = s3.Client();
        var manifests = c.ListVersionsAsync(new ListVersionsRequest { BucketName = bucket }).GetAwaiter().GetResult().Versions
            .Where(v => v.Key.EndsWith("/backupbuild-manifest.json.gz", StringComparison.Ordinal))
            .Select(v => v.LastModified!.Value.ToUniversalTime()).Order().ToList();
        Assert.Equal(2, manifests.Count);
        var firstUpload = manifests[0].ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        Directory.Delete(p.StagingDir, true); // S3 alone

        // Find lists the archive of both uploads, each with its upload time.
        var find = p.Run("Find", "FindPattern=report.txt");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains($"(uploaded {firstUpload})", find.Output);
        Assert.Contains("?versionId=", find.Output);
        Assert.Contains("Find: 2 stored versions", find.Output);

        var newest = t["newest"];
        var restore = p.Run("Restore", "RestorePeer=master", "RestoreTo=" + newest);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal("quarterly report, corrected\n", File.ReadAllText(newest + t["src/data/report.txt"]));
        Assert.True(File.Exists(newest + t["src/data/late.txt"]), restore.All);

        var older = t["older"];
        restore = p.Run("Restore", "RestorePeer=master", "RestoreTo=" + older, "RestoreS3Version=" + firstUpload);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal(firstReport, File.ReadAllBytes(older + t["src/data/report.txt"]));
        Assert.False(File.Exists(older + t["src/data/late.txt"]), restore.All);
        Assert.Contains("?versionId=", restore.Output);

        // Each upload's archive is read against the manifest uploaded with it: both good.
        var verify = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("2 archive copies read, 0 bad, 0 missing", verify.Output);

        var bad = p.Run("Restore", "RestorePeer=master", "RestoreTo=" + t["bad"], "RestoreS3Version=last tuesday");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("error BKP6350: The S3 upload time \"last tuesday\"", bad.All);
        Assert.False(Directory.Exists(t["bad"]));
    }

    [Fact]
    public void Objects_uploaded_before_S3ObjectLockDays_was_set_get_the_retention_on_the_next_upload_without_being_sent_again()
    {
        using var t = new TempDir();
        var locked = s3.Bucket("late-lock", objectLock: true);
        var p = Pool(t, locked);
        var first = p.Run("Collect;Stage;UploadStagedDayToS3", "BackupRunDate=" + RunDate);
        Assert.True(first.ExitCode == 0, first.All);
        using var c = s3.Client();
        List<S3ObjectVersion> Versions() => c.ListVersionsAsync(new ListVersionsRequest { BucketName = locked }).GetAwaiter().GetResult().Versions;
        var before = Versions();
        Assert.NotEmpty(before);
        foreach (var v in before) Assert.Null(c.GetObjectMetadataAsync(locked, v.Key).GetAwaiter().GetResult().ObjectLockMode);

        var again = p.Run("UploadStagedDayToS3", "BackupRunDate=" + RunDate, "Full=true", "S3ObjectLockDays=3", "S3ObjectLockMode=COMPLIANCE");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.DoesNotContain("BKP6344", again.All);
        Assert.Contains($"{before.Count} files (0 uploaded, {before.Count} already there", again.All);
        Assert.Contains("set COMPLIANCE retention until", again.All);
        var after = Versions();
        Assert.Equal(before.Select(v => v.VersionId).Order(), after.Select(v => v.VersionId).Order()); // nothing was sent again
        foreach (var v in after)
        {
            var r = c.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = locked, Key = v.Key, VersionId = v.VersionId })
                .GetAwaiter().GetResult().Retention;
            Assert.Equal(ObjectLockRetentionMode.Compliance, r.Mode);
            Assert.True(r.RetainUntilDate > DateTime.UtcNow.AddDays(2.9), $"{v.Key}: retained until {r.RetainUntilDate:u}");
        }

        // The next run finds the retention in force and leaves it alone.
        var third = p.Run("UploadStagedDayToS3", "BackupRunDate=" + RunDate, "Full=true", "S3ObjectLockDays=3", "S3ObjectLockMode=COMPLIANCE");
        Assert.True(third.ExitCode == 0, third.All);
        Assert.DoesNotContain("retention until", third.All);
    }

    [Fact]
    public void Object_lock_on_a_bucket_without_it_is_BKP6342_and_a_bad_mode_is_BKP6341_before_anything_is_uploaded()
    {
        using var t = new TempDir();
        var plain = s3.Bucket("plain");
        var p = Pool(t, plain).Property("S3ObjectLockDays", "30");
        var run = p.Run("All", "BackupRunDate=" + RunDate);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"error BKP6342: S3ObjectLockDays is set but the bucket \"{plain}\" does not have Object Lock enabled", run.All);
        using var c = s3.Client();
        Assert.Empty(c.ListObjectsV2Async(new ListObjectsV2Request { BucketName = plain }).GetAwaiter().GetResult().S3Objects ?? new List<S3Object>());
        Assert.False(File.Exists(Path.Combine(p.StagingDir, Day, "cback.amazons3")), run.All);

        var bad = p.Run("UploadStagedDayToS3", "BackupRunDate=" + RunDate, "S3ObjectLockMode=forever");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("error BKP6341", bad.All);
        var days = p.Run("UploadStagedDayToS3", "BackupRunDate=" + RunDate, "S3ObjectLockDays=a month");
        Assert.Contains("error BKP6340", days.All);
    }

    [Fact]
    public void UploadStagedDayToS3_killed_at_many_points_leaves_no_complete_looking_object_and_the_rerun_finishes_without_leftovers()
    {
        using var t = new TempDir();
        var bucket = s3.Bucket("kill");
        var p = Pool(t, bucket, subfolders: 3, bytes: 11 * 1024 * 1024);
        var staged = p.Run("Collect;Stage", "BackupRunDate=" + RunDate, "S3Bucket=");
        Assert.True(staged.ExitCode == 0, staged.All);
        var day = Path.Combine(p.StagingDir, Day);
        var indicator = Path.Combine(day, "cback.amazons3");
        using var c = s3.Client();

        List<S3Object> Objects() => c.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket }).GetAwaiter().GetResult().S3Objects ?? new List<S3Object>();
        string Describe(S3Object o)
        {
            var head = c.GetObjectMetadataAsync(bucket, o.Key).GetAwaiter().GetResult();
            return $"{o.Key} {o.Size} {o.ETag} {head.Metadata["x-amz-meta-backupbuild-sha256"]}";
        }
        var local = Directory.GetFiles(day, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith("cback.", StringComparison.Ordinal))
            .ToDictionary(f => Day + "/" + Path.GetRelativePath(day, f), Sha256);

        KillHarness? harness = null;
        harness = new KillHarness
        {
            Project = p,
            Target = "UploadStagedDayToS3",
            LockName = "amazons3",
            Points = 6,
            Properties = new[] { "BackupRunDate=" + RunDate },
            Done = _ => File.Exists(indicator),
            Reset = () =>
            {
                if (File.Exists(indicator)) File.Delete(indicator);
                foreach (var o in Objects()) c.DeleteObjectAsync(bucket, o.Key).GetAwaiter().GetResult();
                foreach (var u in Pending(c, bucket)) c.AbortMultipartUploadAsync(bucket, u.Key, u.UploadId).GetAwaiter().GetResult();
            },
            Outcome = () => string.Join("\n", Objects().OrderBy(o => o.Key, StringComparer.Ordinal).Select(Describe))
                + $"\npending {Pending(c, bucket).Count}\ncback.amazons3 {File.Exists(indicator)}",
            CheckAfterKill = where =>
            {
                // Every object there is a whole file: its size, ETag and SHA-256 are those of the complete upload.
                foreach (var o in Objects())
                {
                    Assert.True(local.ContainsKey(o.Key), $"{where}: unexpected object {o.Key}");
                    Assert.True(harness!.Expected.Contains(Describe(o)), $"{where}: {Describe(o)} is not a complete upload");
                }
                if (File.Exists(indicator))
                    Assert.True(Objects().Count == local.Count, $"{where}: cback.amazons3 vouches for a day that is not all in the bucket");
            },
        };
        harness.Run();
        Assert.Contains("pending 0", harness.Expected);
        Assert.Equal(local.Count, harness.Expected.Split('\n').Count(l => l.StartsWith(Day, StringComparison.Ordinal)));
        foreach (var (key, sha) in local) Assert.Contains($"{key} ", harness.Expected);
        Assert.Equal(6, harness.Landed);
    }
}
