using Amazon.Runtime;
using Amazon.S3;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>
/// The S3 client. Credentials come only from the SDK's default chain (AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, instance roles), never from MSBuild
/// properties: binary logs record every property a project reads.
/// </summary>
public static class S3Connection
{
    public static AmazonS3Client Create(string? endpoint, string? region)
    {
        var config = new AmazonS3Config
        {
            MaxErrorRetry = 4,
            Timeout = TimeSpan.FromMinutes(5),
            // Checksums only where S3 requires them: S3-compatible servers (Ceph RGW 16.2, older MinIO) ignore or reject
            // the trailing checksums of aws-chunked uploads. Content-MD5 is sent on every upload instead.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            config.ServiceURL = endpoint.Trim();
            config.ForcePathStyle = true;
            // The signing region: S3Region, which targets/BackupBuild.props sets (us-east-1) when S3Endpoint is; the callers
            // refuse an empty one (BKP1101) before they connect.
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(region)
                ? throw new ArgumentException("S3Region is required with an S3Endpoint", nameof(region)) : region.Trim();
        }
        else if (!string.IsNullOrWhiteSpace(region))
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region.Trim());
        }
        return new AmazonS3Client(config);
    }
}
