using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>The files of a folder as S3 keys (the settings: Settings/AmazonS3Settings).</summary>
public static class S3Settings
{
    /// <summary>The part size of a transfer that only reads (Restore, Find): it uploads nothing, so S3PartSize does not apply.</summary>
    public const long ReadPartSize = 16L * 1024 * 1024;

    public static List<S3Transfer.LocalFile> Files(string folder, string keyPrefix) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(p => !Indicators.IsIndicator(Path.GetFileName(p)))
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => new S3Transfer.LocalFile(p, keyPrefix + Path.GetRelativePath(folder, p).Replace('\\', '/')))
            .ToList();
}
