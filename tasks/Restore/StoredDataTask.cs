using System.Globalization;
using BackupBuild.Tasks.Extensions.AmazonS3;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Base of Restore, Find, Verify and Report: the media to read (staging folders, image files, S3) and the
/// catalog of what they hold.
/// </summary>
public abstract class StoredDataTask : BackupTask
{
    public string? StagingDir { get; set; }
    /// <summary>Image files to read (semicolon-separated): StoreImageFile and copies of earlier weeks' images.</summary>
    public string? ImageFiles { get; set; }
    /// <summary>S3 bucket (and prefix) the amazons3 extension uploads to; empty: S3 is not read.</summary>
    public string? S3Bucket { get; set; }
    public string? S3Endpoint { get; set; }
    public string? S3Region { get; set; }
    /// <summary>
    /// Restore and Find: read S3 alone, as it stood at this upload time (UTC, yyyy-MM-ddTHH:mm:ssZ as Find lists
    /// it): per day, the newest upload made by then. Empty: the newest upload of every day, from every medium.
    /// </summary>
    public string? S3Version { get; set; }
    /// <summary>
    /// Restore and Find: @(BackupRestoreSettings) (Settings/RestoreSettings): Restore's options and, for both, gpg for days the
    /// encrypt extension (or a gpg S3EncryptCommand) encrypted, its --homedir holding the secret key (its agent is used) and
    /// a file holding the key's passphrase, read by gpg itself (--passphrase-file).
    /// </summary>
    public Microsoft.Build.Framework.ITaskItem? RestoreSettings { get; set; }

    /// <summary>gpg for encrypted days, as the task parsed it from <see cref="RestoreSettings"/> (Restore, Find).</summary>
    private protected Settings.RestoreSettings.Decryption? Decryption { get; set; }

    private protected sealed record MediaSettings(string? Staging, string[] Images, S3Location? S3, DateTime? S3UploadedBy = null);

    private protected MediaSettings? Media(Problems problems)
    {
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems, required: false);
        var images = Values.List(ImageFiles);
        foreach (var image in images.Where(i => !i.StartsWith('/')))
            problems.Error("Config.RelativePath", "RestoreImageFiles", image);
        S3Location? s3 = null;
        if (!string.IsNullOrWhiteSpace(S3Bucket))
        {
            s3 = S3Location.Parse(S3Bucket);
            if (s3 == null) problems.Error("S3.BadBucket", "S3Bucket", S3Bucket);
            // With S3Endpoint the props give the signing region (us-east-1), as the upload's group has it.
            if (!string.IsNullOrWhiteSpace(S3Endpoint) && string.IsNullOrWhiteSpace(S3Region))
                problems.Error("Config.MissingSetting", "S3Region", GetType().Name);
        }
        DateTime? uploadedBy = null;
        if (!string.IsNullOrWhiteSpace(S3Version))
        {
            var formats = new[] { "yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ssZ", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mmZ", "yyyy-MM-ddTHH:mm" };
            if (DateTime.TryParseExact(S3Version.Trim(), formats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) && s3 != null)
                uploadedBy = DateTime.SpecifyKind(t, DateTimeKind.Utc);
            else problems.Error("Restore.BadS3Version", S3Version, S3Bucket ?? "");
        }
        return new MediaSettings(staging, images.Where(i => i.StartsWith('/')).ToArray(), s3, uploadedBy);
    }

    /// <summary>Whether encrypted copies are read through gpg (Restore and Find; Verify and Report see the files as stored).</summary>
    private protected virtual bool Decrypts => false;

    private protected StoredCatalog? Catalog(MediaSettings media)
    {
        var gpg = !Decrypts || Decryption is not { } d ? null : new GpgDecryption(d.Program, d.HomeDir, d.PassphraseFile);
        var catalog = StoredCatalog.Build(media.Staging, media.Images, media.S3, S3Endpoint, S3Region,
            (name, args) => Log.LogWarningWithCodeFromResources(name, args), Cancellation, media.S3UploadedBy, gpg);
        if (catalog.Media.Count == 0)
        {
            catalog.Dispose();
            Log.LogErrorWithCodeFromResources("Restore.NoMedia", media.Staging ?? "", string.Join(", ", media.Images),
                media.S3?.ToString() ?? "");
            return null;
        }
        return catalog;
    }

    /// <summary>A date (yyyy-MM-dd, or with a time: its day), or null (empty value); a bad value is a problem.</summary>
    private protected static DateTime? Date(string? value, string name, Problems problems)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var formats = new[] { "yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss" };
        if (DateTime.TryParseExact(value.Trim(), formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d.Date;
        problems.Error("Restore.BadDate", name, value);
        return null;
    }

    private readonly HashSet<(DateTime, string, string)> _damagedListings = new();

    /// <summary>
    /// What <paramref name="archive"/> holds as its day's manifest lists it (<see cref="Collect.ManifestMembers"/>), or
    /// null when the manifest does not (an older version, a Cedar peer, another checksum than the archive's) or its list
    /// is damaged (BKP4200, once per archive): the caller then reads the archive itself.
    /// </summary>
    private protected List<Collect.ManifestMembers.Member>? Listed(StoredCatalog catalog, ArchiveVersion archive)
    {
        if (catalog.Manifest(archive.Day, archive.Peer) is not { } manifest) return null;
        var item = manifest.Items.FirstOrDefault(i => i.Archive == archive.Name);
        if (item == null || (archive.Sha256 != null && !string.Equals(item.Sha256, archive.Sha256, StringComparison.OrdinalIgnoreCase))) return null;
        try
        {
            return Collect.ManifestMembers.Read(item);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            if (_damagedListings.Add((archive.Day, archive.Peer, archive.Name)))
                Log.LogWarningWithCodeFromResources("Restore.MembersDamaged", archive.Name, archive.Peer, Day(archive.Day), e.Message);
            return null;
        }
    }

    internal static string Day(DateTime d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
