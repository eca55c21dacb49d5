using BackupBuild.Tasks.Extensions.AmazonS3;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The amazons3 group (item BackupS3Settings, EnableBackupS3Extension): the bucket, the connection, the size limits,
/// the encrypt command and its timeout, the part size, checksums and Object Lock. UploadStagedDayToS3 and Validate
/// parse it here (Validate only when S3Bucket is set: the extension is off otherwise); SyncToS3 reads its connection
/// part (<see cref="ParseConnection"/>).
/// </summary>
public sealed record AmazonS3Settings
{
    public const string ItemType = "BackupS3Settings";
    public static readonly string[] Names =
    {
        "S3Bucket", "S3Endpoint", "S3Region", "S3FullSizeLimit", "S3IncrSizeLimit", "S3WarnMidnight", "S3EncryptCommand",
        "S3EncryptTimeoutSeconds", "S3PartSize", "S3VerifyChecksum", "S3ObjectLockDays", "S3ObjectLockMode",
    };

    /// <summary>What SyncToS3 shares with the upload: where S3 is and how files go up and are checked.</summary>
    public sealed record Connection(string? Endpoint, string? Region, long PartSize, bool VerifyChecksum);

    public required S3Location Location { get; init; }
    public required Connection S3 { get; init; }
    public required long? FullSizeLimit { get; init; }
    public required long? IncrSizeLimit { get; init; }
    public required bool WarnMidnight { get; init; }
    /// <summary>Command run per file before upload, with ${input} and ${output}; empty: none.</summary>
    public required string EncryptCommand { get; init; }
    public required int EncryptTimeoutSeconds { get; init; }
    public required S3Transfer.Retention? Retention { get; init; }

    private const long MinimumPartSize = 5L * 1024 * 1024, MaximumPartSize = 5L * 1024 * 1024 * 1024;

    public static bool IsOn(ITaskItem? item) => item != null && item.GetMetadata("S3Bucket").Trim().Length > 0;

    public static AmazonS3Settings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var bucket = r.Text("S3Bucket");
        var location = S3Location.Parse(bucket);
        if (location == null) problems.Error("S3.BadBucket", "S3Bucket", bucket);
        var connection = ParseConnection(r, problems);
        var settings = new AmazonS3Settings
        {
            Location = location!,
            S3 = connection!,
            FullSizeLimit = Limit(r, "S3FullSizeLimit", problems),
            IncrSizeLimit = Limit(r, "S3IncrSizeLimit", problems),
            WarnMidnight = r.Flag("S3WarnMidnight"),
            EncryptCommand = r.Text("S3EncryptCommand"),
            EncryptTimeoutSeconds = r.Integer("S3EncryptTimeoutSeconds", 1),
            Retention = ParseRetention(r, problems),
        };
        return problems.ErrorCount > before ? null : settings;
    }

    /// <summary>The connection part of the group alone (SyncToS3), or null when it is wrong.</summary>
    public static Connection? ParseConnection(ITaskItem? item, Problems problems)
    {
        var r = new SettingsReader(item, ItemType, problems);
        return r.Present ? ParseConnection(r, problems) : null;
    }

    private static Connection? ParseConnection(SettingsReader r, Problems problems)
    {
        var before = problems.ErrorCount;
        var partText = r.Required("S3PartSize");
        long part = 0;
        if (partText.Length > 0 && !(ByteQuantity.TryParse(partText, out part) && part >= MinimumPartSize && part <= MaximumPartSize))
            problems.Error("S3.BadPartSize", partText);
        var checksums = r.Flag("S3VerifyChecksum");
        var endpoint = r.Text("S3Endpoint");
        // With an endpoint the props give the signing region (us-east-1): empty is BKP1101. Without one, empty is the SDK's
        // own region (AWS_REGION, the profile).
        var region = endpoint.Length > 0 ? r.Required("S3Region") : r.Text("S3Region");
        return problems.ErrorCount > before ? null : new Connection(NullIfEmpty(endpoint), NullIfEmpty(region), part, checksums);
    }

    private static long? Limit(SettingsReader r, string name, Problems problems)
    {
        var value = r.Text(name);
        if (value.Length == 0) return null;
        if (ByteQuantity.TryParse(value, out var n)) return n;
        problems.Error("S3.BadSizeLimit", name, value);
        return null;
    }

    private static S3Transfer.Retention? ParseRetention(SettingsReader r, Problems problems)
    {
        var modeText = r.Required("S3ObjectLockMode");
        var mode = modeText.ToUpperInvariant();
        if (modeText.Length > 0 && mode != "GOVERNANCE" && mode != "COMPLIANCE") problems.Error("S3.BadLockMode", modeText);
        var days = r.Text("S3ObjectLockDays");
        if (days.Length == 0) return null;
        if (!int.TryParse(days, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var d) || d < 1 || d > 36500)
        {
            problems.Error("S3.BadLockDays", days);
            return null;
        }
        return new S3Transfer.Retention(mode == "COMPLIANCE" ? Amazon.S3.ObjectLockMode.Compliance : Amazon.S3.ObjectLockMode.Governance, d);
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
