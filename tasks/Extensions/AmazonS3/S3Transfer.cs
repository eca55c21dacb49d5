using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Makes a prefix of a bucket hold exactly a set of local files: uploads what is missing or differs
/// (multipart above the part size), optionally removes what is not local, then verifies every key by
/// size, ETag and the SHA-256 stored with it. Every part goes up with its Content-MD5 (the server refuses a
/// part that does not match) and every object with its whole SHA-256 as metadata (x-amz-meta-backupbuild-sha256),
/// read back by Verify. An object already there with the right size and checksums is not sent again; a
/// multipart upload a killed run left behind is resumed when its parts match the local file (only the
/// missing parts are sent) and aborted otherwise, so a run cut half-way leaves no object that looks complete
/// and the next run finishes the work and leaves no abandoned upload under the prefix.
/// </summary>
public sealed class S3Transfer
{
    public sealed record LocalFile(string Path, string Key);
    public sealed record Summary(int Uploaded, int Unchanged, int Removed, long BytesUploaded, int Aborted);
    /// <summary>S3 Object Lock retention put on every object uploaded.</summary>
    public sealed record Retention(ObjectLockMode Mode, int Days);

    private readonly IAmazonS3 _s3;
    private readonly long _partSize;
    private readonly CancellationToken _cancel;
    private readonly Action<string, object[]> _detail;
    private readonly Retention? _retention;

    public S3Transfer(IAmazonS3 s3, long partSize, CancellationToken cancel, Action<string, object[]> detail, Retention? retention = null)
    {
        _s3 = s3;
        _partSize = partSize;
        _cancel = cancel;
        _detail = detail;
        _retention = retention;
    }

    /// <summary>Fails with BKP6311 when the bucket is missing, BKP6313 without credentials.</summary>
    public void CheckBucket(string bucket)
    {
        Call("HeadBucket", $"s3://{bucket}", () => _s3.HeadBucketAsync(new HeadBucketRequest { BucketName = bucket }, _cancel), bucket);
    }

    /// <summary>Fails with BKP6342 unless the bucket has Object Lock enabled (checked before anything is uploaded).</summary>
    public void CheckObjectLock(string bucket)
    {
        var r = Call("GetObjectLockConfiguration", $"s3://{bucket}", async () =>
        {
            try
            {
                return await _s3.GetObjectLockConfigurationAsync(new GetObjectLockConfigurationRequest { BucketName = bucket }, _cancel);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode != null && e.ErrorCode.StartsWith("ObjectLockConfigurationNotFound", StringComparison.Ordinal))
            {
                return null;
            }
        }, bucket);
        if (r?.ObjectLockConfiguration?.ObjectLockEnabled != ObjectLockEnabled.Enabled) throw new CodedError("S3.NoObjectLock", bucket);
    }

    public Dictionary<string, S3Object> List(S3Location where)
    {
        var result = new Dictionary<string, S3Object>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = where.Bucket, Prefix = where.Prefix };
        while (true)
        {
            var page = Call("ListObjectsV2", where.ToString(), () => _s3.ListObjectsV2Async(request, _cancel), where.Bucket);
            foreach (var o in page.S3Objects ?? new List<S3Object>()) result[o.Key] = o;
            if (page.IsTruncated != true) return result;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>A stored object version that holds data: its upload time (UTC) and whether it is the key's current state.</summary>
    public sealed record StoredVersion(string Key, string VersionId, long Size, DateTime Uploaded, bool Current);

    /// <summary>
    /// Every version under the prefix that holds data, newest first per key, also those a delete marker hides
    /// (a versioned bucket keeps them, Object Lock keeps them for their retention); null when the server or the
    /// account cannot list versions (then <see cref="List"/> is all there is).
    /// </summary>
    public List<StoredVersion>? AllVersions(S3Location where)
    {
        var result = new List<StoredVersion>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var request = new ListVersionsRequest { BucketName = where.Bucket, Prefix = where.Prefix };
        while (true)
        {
            ListVersionsResponse page;
            try
            {
                page = _s3.ListVersionsAsync(request, _cancel).GetAwaiter().GetResult();
            }
            catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotImplemented or HttpStatusCode.MethodNotAllowed)
            {
                return null;
            }
            // Versions of a key come newest first; the first entry of a key is its current state.
            foreach (var v in page.Versions ?? new List<S3ObjectVersion>())
            {
                var first = seen.Add(v.Key);
                if (v.IsDeleteMarker == true) continue;
                result.Add(new StoredVersion(v.Key, v.VersionId ?? "null", v.Size ?? 0, Utc(v.LastModified), first));
            }
            if (page.IsTruncated != true) return result;
            request.KeyMarker = page.NextKeyMarker;
            request.VersionIdMarker = page.NextVersionIdMarker;
        }
    }

    internal static DateTime Utc(DateTime? t) =>
        t is not { } v ? DateTime.MinValue : v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v.ToUniversalTime();

    /// <summary>The SHA-256 stored with one version of an object (null when it was uploaded by something else).</summary>
    public string? StoredSha256(string bucket, string key, string versionId)
    {
        var h = Call("HeadObject", $"s3://{bucket}/{key}?versionId={versionId}", () => _s3.GetObjectMetadataAsync(
            new GetObjectMetadataRequest { BucketName = bucket, Key = key, VersionId = versionId == "null" ? null : versionId }, _cancel), bucket);
        return Sha256Of(h);
    }

    private static string? Sha256Of(GetObjectMetadataResponse h)
    {
        var v = h.Metadata["x-amz-meta-" + S3Checksum.Sha256Metadata] ?? h.Metadata[S3Checksum.Sha256Metadata];
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim().ToLowerInvariant();
    }

    /// <summary>The multipart uploads under the prefix that were started and neither completed nor aborted.</summary>
    public List<MultipartUpload> PendingUploads(S3Location where)
    {
        var result = new List<MultipartUpload>();
        var request = new ListMultipartUploadsRequest { BucketName = where.Bucket, Prefix = where.Prefix };
        while (true)
        {
            var page = Call("ListMultipartUploads", where.ToString(), () => _s3.ListMultipartUploadsAsync(request, _cancel), where.Bucket);
            result.AddRange(page.MultipartUploads ?? new List<MultipartUpload>());
            if (page.IsTruncated != true) return result;
            request.KeyMarker = page.NextKeyMarker;
            request.UploadIdMarker = page.NextUploadIdMarker;
        }
    }

    public Summary Sync(S3Location where, IReadOnlyList<LocalFile> files, bool removeOthers)
    {
        var existing = List(where);
        var pending = PendingUploads(where);
        int uploaded = 0, unchanged = 0, removed = 0;
        long bytes = 0;
        foreach (var f in files)
        {
            _cancel.ThrowIfCancellationRequested();
            var sum = Sum(f.Path);
            var length = new FileInfo(f.Path).Length;
            if (existing.TryGetValue(f.Key, out var o) && o.Size == length && sum.Matches(o.ETag) && ShaAgrees(where.Bucket, f.Key, sum))
            {
                EnsureRetention(where.Bucket, f.Key);
                unchanged++;
                continue;
            }
            Upload(where.Bucket, f, length, sum, pending);
            uploaded++;
            bytes += length;
        }
        // What is left was abandoned: by a killed run, or for a file that is no longer staged.
        foreach (var u in pending)
        {
            Call("AbortMultipartUpload", $"s3://{where.Bucket}/{u.Key}", () => _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = where.Bucket, Key = u.Key, UploadId = u.UploadId,
            }, _cancel), where.Bucket);
            _detail("S3.AbortedUpload", new object[] { $"s3://{where.Bucket}/{u.Key}", u.Initiated?.ToUniversalTime().ToString("u") ?? "?" });
        }
        if (removeOthers)
        {
            var keep = files.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var key in existing.Keys.Where(k => !keep.Contains(k)))
            {
                // In a versioned bucket (Object Lock) this only adds a delete marker: the retained version stays.
                Call("DeleteObject", $"s3://{where.Bucket}/{key}",
                    () => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = where.Bucket, Key = key }, _cancel), where.Bucket);
                removed++;
            }
        }
        return new Summary(uploaded, unchanged, removed, bytes, pending.Count);
    }

    private readonly Dictionary<(string, long, DateTime), S3Checksum> _sums = new();

    /// <summary>The file's checksums, computed once per run (Sync and Verify both need them).</summary>
    private S3Checksum Sum(string path)
    {
        var info = new FileInfo(path);
        var id = (path, info.Length, info.LastWriteTimeUtc);
        if (!_sums.TryGetValue(id, out var sum)) _sums[id] = sum = S3Checksum.Of(path, _partSize, _cancel);
        return sum;
    }

    private bool ShaAgrees(string bucket, string key, S3Checksum sum)
    {
        var stored = StoredSha256(bucket, key);
        return stored == null || stored == sum.Sha256Hex;
    }

    private readonly Dictionary<string, GetObjectMetadataResponse> _heads = new(StringComparer.Ordinal);

    private GetObjectMetadataResponse Head(string bucket, string key)
    {
        var id = bucket + "/" + key;
        if (_heads.TryGetValue(id, out var h)) return h;
        h = Call("HeadObject", $"s3://{bucket}/{key}", () => _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, _cancel), bucket);
        return _heads[id] = h;
    }

    /// <summary>The SHA-256 stored with the object (null when it was uploaded by something else).</summary>
    private string? StoredSha256(string bucket, string key) => Sha256Of(Head(bucket, key));

    /// <summary>
    /// An object already there and unchanged that has no retention in force (uploaded before S3ObjectLockDays was
    /// set, or its retention ran out) gets the retention asked for on its current version.
    /// </summary>
    private bool EnsureRetention(string bucket, string key)
    {
        if (_retention == null) return false;
        var h = Head(bucket, key);
        if (h.ObjectLockMode != null && h.ObjectLockRetainUntilDate is { } held && Utc(held) > DateTime.UtcNow) return false;
        var url = $"s3://{bucket}/{key}";
        var until = DateTime.UtcNow.AddDays(_retention.Days);
        var mode = _retention.Mode == ObjectLockMode.Compliance ? ObjectLockRetentionMode.Compliance : ObjectLockRetentionMode.Governance;
        Call("PutObjectRetention", url, () => _s3.PutObjectRetentionAsync(new PutObjectRetentionRequest
        {
            BucketName = bucket, Key = key, VersionId = h.VersionId,
            Retention = new ObjectLockRetention { Mode = mode, RetainUntilDate = until },
        }, _cancel), bucket);
        _heads.Remove(bucket + "/" + key);
        _detail("S3.RetentionSet", new object[] { url, _retention.Mode.Value, until.ToString("u") });
        return true;
    }

    /// <summary>
    /// Every local file has its key with the same size, a matching ETag and (when stored) a matching SHA-256,
    /// read back from the server, and the retention asked for; returns the problems found.
    /// </summary>
    public Problems Verify(S3Location where, IReadOnlyList<LocalFile> files, bool checksums)
    {
        var problems = new Problems();
        var existing = List(where);
        _heads.Clear();
        foreach (var f in files)
        {
            var url = $"s3://{where.Bucket}/{f.Key}";
            var length = new FileInfo(f.Path).Length;
            if (!existing.TryGetValue(f.Key, out var o)) { problems.Error("S3.VerifyMissing", f.Path, url); continue; }
            if (o.Size != length) { problems.Error("S3.VerifySize", url, o.Size ?? -1, length, f.Path); continue; }
            if (checksums)
            {
                var sum = Sum(f.Path);
                if (!sum.Matches(o.ETag)) problems.Error("S3.VerifyChecksum", url, o.ETag ?? "", sum.Md5Hex, f.Path);
                else if (StoredSha256(where.Bucket, f.Key) is { } stored && stored != sum.Sha256Hex)
                    problems.Error("S3.VerifySha256", url, stored, sum.Sha256Hex, f.Path);
            }
            if (_retention != null)
            {
                var h = Head(where.Bucket, f.Key);
                if (h.ObjectLockMode == null || h.ObjectLockRetainUntilDate == null || h.ObjectLockRetainUntilDate <= DateTime.UtcNow)
                    problems.Error("S3.VerifyRetention", url, _retention.Mode.Value, _retention.Days);
            }
        }
        return problems;
    }

    private void Lock(PutObjectRequest r)
    {
        if (_retention == null) return;
        r.ObjectLockMode = _retention.Mode;
        r.ObjectLockRetainUntilDate = DateTime.UtcNow.AddDays(_retention.Days);
    }

    private void Upload(string bucket, LocalFile f, long length, S3Checksum sum, List<MultipartUpload> pending)
    {
        var url = $"s3://{bucket}/{f.Key}";
        _heads.Remove(bucket + "/" + f.Key);
        if (length <= _partSize)
        {
            var put = new PutObjectRequest
            {
                BucketName = bucket, Key = f.Key, FilePath = f.Path, UseChunkEncoding = false,
                MD5Digest = Convert.ToBase64String(sum.PartMd5s[0]),
            };
            put.Metadata.Add(S3Checksum.Sha256Metadata, sum.Sha256Hex);
            Lock(put);
            Call("PutObject", url, () => _s3.PutObjectAsync(put, _cancel), bucket);
            _detail("S3.Uploaded", new object[] { f.Path, url, length });
            return;
        }
        var (uploadId, done) = Resume(bucket, f, sum, pending);
        if (uploadId == null)
        {
            var start = new InitiateMultipartUploadRequest { BucketName = bucket, Key = f.Key };
            start.Metadata.Add(S3Checksum.Sha256Metadata, sum.Sha256Hex);
            if (_retention != null)
            {
                start.ObjectLockMode = _retention.Mode;
                start.ObjectLockRetainUntilDate = DateTime.UtcNow.AddDays(_retention.Days);
            }
            uploadId = Call("CreateMultipartUpload", url, () => _s3.InitiateMultipartUploadAsync(start, _cancel), bucket).UploadId;
        }
        else _detail("S3.ResumedUpload", new object[] { f.Path, url, done.Count, sum.PartMd5s.Count });
        var etags = new List<PartETag>();
        for (var i = 0; i < sum.PartMd5s.Count; i++)
        {
            var number = i + 1;
            if (done.TryGetValue(number, out var have))
            {
                etags.Add(new PartETag(number, have));
                continue;
            }
            var offset = i * _partSize;
            var part = Call("UploadPart", $"{url} part {number}", () => _s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket, Key = f.Key, UploadId = uploadId, PartNumber = number,
                FilePath = f.Path, FilePosition = offset, PartSize = Math.Min(_partSize, length - offset),
                MD5Digest = Convert.ToBase64String(sum.PartMd5s[i]), UseChunkEncoding = false,
            }, _cancel), bucket);
            etags.Add(new PartETag(number, part.ETag));
        }
        // A failure here leaves the upload in place: the next run resumes it or aborts it. A resumed upload the
        // server will not complete (RGW 16.2 answers InvalidPart after a part was once refused for its
        // Content-MD5) is aborted and the file sent again from its first part.
        try
        {
            Call("CompleteMultipartUpload", url, () => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket, Key = f.Key, UploadId = uploadId, PartETags = etags,
            }, _cancel), bucket);
        }
        catch (CodedError e) when (done.Count > 0 && e.Message.Contains("InvalidPart", StringComparison.Ordinal))
        {
            var abandoned = uploadId;
            Call("AbortMultipartUpload", url, () => _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = bucket, Key = f.Key, UploadId = abandoned,
            }, _cancel), bucket);
            Upload(bucket, f, length, sum, new List<MultipartUpload>());
            return;
        }
        if (done.Count > 0)
        {
            // The SHA-256 comes from the run that started the upload: when it is not this file's (another
            // program started it, or the file changed after its first parts), the file is sent again whole.
            _heads.Remove(bucket + "/" + f.Key);
            if (StoredSha256(bucket, f.Key) != sum.Sha256Hex)
            {
                _heads.Remove(bucket + "/" + f.Key);
                Upload(bucket, f, length, sum, new List<MultipartUpload>());
                return;
            }
        }
        _detail("S3.UploadedParts", new object[] { f.Path, url, length, sum.PartMd5s.Count });
    }

    /// <summary>
    /// A pending upload of the key whose every stored part has the size and MD5 of the local file's part of the
    /// same number, with its parts; (null, empty) when there is none. The upload chosen is taken out of
    /// <paramref name="pending"/> (what is left there is aborted at the end of the sync).
    /// </summary>
    private (string? UploadId, Dictionary<int, string> Parts) Resume(string bucket, LocalFile f, S3Checksum sum, List<MultipartUpload> pending)
    {
        var length = new FileInfo(f.Path).Length;
        foreach (var u in pending.Where(u => u.Key == f.Key).OrderByDescending(u => u.Initiated).ToList())
        {
            var parts = new Dictionary<int, string>();
            var request = new ListPartsRequest { BucketName = bucket, Key = f.Key, UploadId = u.UploadId };
            var usable = true;
            while (usable)
            {
                var page = Call("ListParts", $"s3://{bucket}/{f.Key}", () => _s3.ListPartsAsync(request, _cancel), bucket);
                foreach (var p in page.Parts ?? new List<PartDetail>())
                {
                    var n = p.PartNumber ?? 0;
                    var expected = n < 1 ? -1 : Math.Min(_partSize, length - (n - 1) * _partSize);
                    if (n < 1 || n > sum.PartMd5s.Count || p.Size != expected || !sum.PartMatches(n - 1, p.ETag)) usable = false;
                    else parts[n] = p.ETag;
                }
                if (page.IsTruncated != true) break;
                request.PartNumberMarker = page.NextPartNumberMarker?.ToString();
            }
            if (!usable) continue;
            pending.Remove(u);
            return (u.UploadId, parts);
        }
        return (null, new Dictionary<int, string>());
    }

    /// <summary>One S3 request (the SDK retries transient failures itself); failures become coded errors.</summary>
    private T Call<T>(string operation, string target, Func<Task<T>> request, string bucket)
    {
        try
        {
            return request().GetAwaiter().GetResult();
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" || (operation == "HeadBucket" && e.StatusCode == HttpStatusCode.NotFound))
        {
            throw new CodedError("S3.NoSuchBucket", bucket);
        }
        catch (AmazonServiceException e)
        {
            throw new CodedError("S3.RequestFailed", operation, target, $"{(int)e.StatusCode} {e.ErrorCode}: {e.Message}");
        }
        catch (AmazonClientException e) when (e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase))
        {
            throw new CodedError("S3.NoCredentials", e.Message.Split('\n')[0].Trim());
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or TimeoutException
                                   || (e is TaskCanceledException && !_cancel.IsCancellationRequested))
        {
            throw new CodedError("S3.RequestFailed", operation, target, e.GetBaseException().Message);
        }
    }
}
