using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.AmazonS3;

/// <summary>The part size: parts are at least 5 MB (S3's minimum), files above it go up in parts.</summary>
public static class S3Settings
{
    public const long DefaultPartSize = 16L * 1024 * 1024;
    private const long MinimumPartSize = 5L * 1024 * 1024;

    public static long PartSize(string? value, Problems problems)
    {
        if (string.IsNullOrWhiteSpace(value)) return DefaultPartSize;
        if (ByteQuantity.TryParse(value, out var n) && n >= MinimumPartSize && n <= 5L * 1024 * 1024 * 1024) return n;
        problems.Error("S3.BadPartSize", value);
        return DefaultPartSize;
    }

    public static List<S3Transfer.LocalFile> Files(string folder, string keyPrefix) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(p => !Indicators.IsIndicator(Path.GetFileName(p)))
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => new S3Transfer.LocalFile(p, keyPrefix + Path.GetRelativePath(folder, p).Replace('\\', '/')))
            .ToList();
}
