using System.Security.Cryptography;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// The ETags a correct upload of a local file can have: the MD5 of the content (single-part uploads,
/// and servers that hash the assembled object), or Amazon's multipart form, the MD5 of
/// the parts' binary MD5s followed by "-" and the number of parts, for the part size we upload with.
/// Also the SHA-256 of the whole file, stored with the object as metadata and read back after the upload.
/// </summary>
public sealed class S3Checksum
{
    private S3Checksum(string md5Hex, string? multipartETag, List<byte[]> partMd5s, string sha256Hex)
    {
        Sha256Hex = sha256Hex;
        Md5Hex = md5Hex;
        MultipartETag = multipartETag;
        PartMd5s = partMd5s;
    }

    public string Md5Hex { get; }
    public string? MultipartETag { get; }
    public IReadOnlyList<byte[]> PartMd5s { get; }
    public string Sha256Hex { get; }

    /// <summary>The user metadata (x-amz-meta-…) that carries the whole object's SHA-256.</summary>
    public const string Sha256Metadata = "backupbuild-sha256";

    public static S3Checksum Of(string path, long partSize, CancellationToken cancel)
    {
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var parts = new List<byte[]>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var length = stream.Length;
        var buffer = new byte[1 << 20];
        using var part = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long inPart = 0;
        int n;
        while ((n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, partSize - inPart))) > 0)
        {
            cancel.ThrowIfCancellationRequested();
            whole.AppendData(buffer, 0, n);
            sha.AppendData(buffer, 0, n);
            part.AppendData(buffer, 0, n);
            inPart += n;
            if (inPart == partSize)
            {
                parts.Add(part.GetHashAndReset());
                inPart = 0;
            }
        }
        if (inPart > 0 || parts.Count == 0) parts.Add(part.GetHashAndReset());
        string? multipart = null;
        if (length > partSize)
            multipart = Convert.ToHexString(MD5.HashData(parts.SelectMany(p => p).ToArray())).ToLowerInvariant() + "-" + parts.Count;
        return new S3Checksum(Convert.ToHexString(whole.GetHashAndReset()).ToLowerInvariant(), multipart, parts,
            Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
    }

    /// <summary>The ETag the server reports for part <paramref name="index"/> (0-based): its MD5.</summary>
    public bool PartMatches(int index, string? etag) =>
        index < PartMd5s.Count && (etag ?? "").Trim('"').Equals(Convert.ToHexString(PartMd5s[index]), StringComparison.OrdinalIgnoreCase);

    public bool Matches(string? etag)
    {
        var e = (etag ?? "").Trim('"').ToLowerInvariant();
        return e == Md5Hex || (MultipartETag != null && e == MultipartETag);
    }
}
