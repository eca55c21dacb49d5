namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>A bucket and a key prefix ("" or ending in "/"), from "bucket/sub/path" or "s3://bucket/sub/path".</summary>
public sealed record S3Location(string Bucket, string Prefix)
{
    public static S3Location? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim();
        if (t.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)) t = t[5..];
        var slash = t.IndexOf('/');
        var bucket = slash < 0 ? t : t[..slash];
        var prefix = slash < 0 ? "" : t[(slash + 1)..].Trim('/');
        if (bucket.Length < 3 || bucket.Length > 63 || bucket.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')))
            return null;
        return new S3Location(bucket, prefix.Length == 0 ? "" : prefix + "/");
    }

    public S3Location Under(string relative) => this with { Prefix = Prefix + relative.Trim('/') + "/" };

    public override string ToString() => $"s3://{Bucket}/{Prefix}";
}
