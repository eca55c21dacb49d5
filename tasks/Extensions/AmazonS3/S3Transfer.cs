using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// Makes a prefix of a bucket hold exactly a set of local files: uploads what is missing or differs
/// (multipart above the part size), optionally removes what is not local, then verifies every key by
/// size and ETag. An object already there with the right size and checksum is not sent again, so a
/// run cut half-way resumes with the files it had not finished.
/// </summary>
public sealed class S3Transfer
{
    public sealed record LocalFile(string Path, string Key);
    public sealed record Summary(int Uploaded, int Unchanged, int Removed, long BytesUploaded);

    private readonly IAmazonS3 _s3;
    private readonly long _partSize;
    private readonly CancellationToken _cancel;
    private readonly Action<string, object[]> _detail;

    public S3Transfer(IAmazonS3 s3, long partSize, CancellationToken cancel, Action<string, object[]> detail)
    {
        _s3 = s3;
        _partSize = partSize;
        _cancel = cancel;
        _detail = detail;
    }

    /// <summary>Fails with BKP6311 when the bucket is missing, BKP6313 without credentials.</summary>
    public void CheckBucket(string bucket)
    {
        Call("HeadBucket", $"s3://{bucket}", () => _s3.HeadBucketAsync(new HeadBucketRequest { BucketName = bucket }, _cancel), bucket);
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

    public Summary Sync(S3Location where, IReadOnlyList<LocalFile> files, bool removeOthers)
    {
        var existing = List(where);
        int uploaded = 0, unchanged = 0, removed = 0;
        long bytes = 0;
        foreach (var f in files)
        {
            _cancel.ThrowIfCancellationRequested();
            var sum = S3Checksum.Of(f.Path, _partSize, _cancel);
            var length = new FileInfo(f.Path).Length;
            if (existing.TryGetValue(f.Key, out var o) && o.Size == length && sum.Matches(o.ETag))
            {
                unchanged++;
                continue;
            }
            Upload(where.Bucket, f, length, sum);
            uploaded++;
            bytes += length;
        }
        if (removeOthers)
        {
            var keep = files.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var key in existing.Keys.Where(k => !keep.Contains(k)))
            {
                Call("DeleteObject", $"s3://{where.Bucket}/{key}",
                    () => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = where.Bucket, Key = key }, _cancel), where.Bucket);
                removed++;
            }
        }
        return new Summary(uploaded, unchanged, removed, bytes);
    }

    /// <summary>Every local file has its key with the same size and a matching ETag; returns the problems found.</summary>
    public Problems Verify(S3Location where, IReadOnlyList<LocalFile> files, bool checksums)
    {
        var problems = new Problems();
        var existing = List(where);
        foreach (var f in files)
        {
            var url = $"s3://{where.Bucket}/{f.Key}";
            var length = new FileInfo(f.Path).Length;
            if (!existing.TryGetValue(f.Key, out var o)) problems.Error("S3.VerifyMissing", f.Path, url);
            else if (o.Size != length) problems.Error("S3.VerifySize", url, o.Size ?? -1, length, f.Path);
            else if (checksums)
            {
                var sum = S3Checksum.Of(f.Path, _partSize, _cancel);
                if (!sum.Matches(o.ETag)) problems.Error("S3.VerifyChecksum", url, o.ETag ?? "", sum.Md5Hex, f.Path);
            }
        }
        return problems;
    }

    private void Upload(string bucket, LocalFile f, long length, S3Checksum sum)
    {
        var url = $"s3://{bucket}/{f.Key}";
        if (length <= _partSize)
        {
            Call("PutObject", url, () => _s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket, Key = f.Key, FilePath = f.Path, UseChunkEncoding = false,
                MD5Digest = Convert.ToBase64String(sum.PartMd5s[0]),
            }, _cancel), bucket);
            _detail("S3.Uploaded", new object[] { f.Path, url, length });
            return;
        }
        var start = Call("CreateMultipartUpload", url, () => _s3.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = bucket, Key = f.Key }, _cancel), bucket);
        try
        {
            var etags = new List<PartETag>();
            for (var i = 0; i < sum.PartMd5s.Count; i++)
            {
                var number = i + 1;
                var offset = i * _partSize;
                var part = Call("UploadPart", $"{url} part {number}", () => _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = bucket, Key = f.Key, UploadId = start.UploadId, PartNumber = number,
                    FilePath = f.Path, FilePosition = offset, PartSize = Math.Min(_partSize, length - offset),
                    MD5Digest = Convert.ToBase64String(sum.PartMd5s[i]), UseChunkEncoding = false,
                }, _cancel), bucket);
                etags.Add(new PartETag(number, part.ETag));
            }
            Call("CompleteMultipartUpload", url, () => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket, Key = f.Key, UploadId = start.UploadId, PartETags = etags,
            }, _cancel), bucket);
            _detail("S3.UploadedParts", new object[] { f.Path, url, length, sum.PartMd5s.Count });
        }
        catch
        {
            // Best effort: the server may be the thing that failed. S3 lifecycle rules
            // (AbortIncompleteMultipartUpload) remove what is left.
            try { _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = f.Key, UploadId = start.UploadId }).Wait(TimeSpan.FromSeconds(10)); }
            catch (Exception) { }
            throw;
        }
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
