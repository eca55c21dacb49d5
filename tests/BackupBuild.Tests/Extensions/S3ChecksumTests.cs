using System.Security.Cryptography;
using BackupBuild.Tasks.Extensions.AmazonS3;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

[Trait("Tier", "Fast")]
public class S3ChecksumTests
{
    [Fact]
    public void A_file_above_the_part_size_matches_its_MD5_and_Amazons_multipart_ETag()
    {
        using var t = new TempDir();
        var bytes = new byte[12 * 1024 * 1024 + 3];
        new Random(1).NextBytes(bytes);
        var path = t["f.bin"];
        File.WriteAllBytes(path, bytes);
        const int part = 5 * 1024 * 1024;
        var parts = new[] { bytes[..part], bytes[part..(2 * part)], bytes[(2 * part)..] }.SelectMany(MD5.HashData).ToArray();
        var multipart = Convert.ToHexString(MD5.HashData(parts)).ToLowerInvariant() + "-3";

        var sum = S3Checksum.Of(path, part, CancellationToken.None);
        Assert.Equal(3, sum.PartMd5s.Count);
        Assert.True(sum.Matches("\"" + multipart + "\""));
        Assert.True(sum.Matches(Convert.ToHexString(MD5.HashData(bytes))));
        Assert.False(sum.Matches("\"" + multipart[..^1] + "2\""));
    }

    [Theory]
    [InlineData("bucket", "bucket", "")]
    [InlineData("s3://my.bucket/a/b/", "my.bucket", "a/b/")]
    [InlineData("my-bucket/backups", "my-bucket", "backups/")]
    public void Bucket_and_prefix_are_parsed(string text, string bucket, string prefix)
    {
        var l = S3Location.Parse(text)!;
        Assert.Equal(bucket, l.Bucket);
        Assert.Equal(prefix, l.Prefix);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("bad_name/x")]
    public void Malformed_buckets_are_rejected(string text) => Assert.Null(S3Location.Parse(text));
}
