using System.Security.Cryptography;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Checksums of whole files, as the manifests, the request queue and the checks record them.</summary>
public static class FileHash
{
    /// <summary>The SHA-256 of a file's content, lower-case hex.</summary>
    public static string Sha256(string file)
    {
        using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
    }
}
