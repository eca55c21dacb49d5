using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// What one Collect run wrote and what was there: for each archive job, the archive's name, SHA-256 and
/// size (so Verify can check every copy against what was written) and the names of every file the source
/// held that day (so Restore knows a file deleted since the last full archive is gone). Written into the
/// collect dir next to the archives (gzip-compressed JSON), before cback.collect; it travels with them
/// through Stage, Store and the S3 upload.
/// </summary>
public sealed class CollectManifest
{
    public const string FileName = "backupbuild-manifest.json.gz";

    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    /// <summary>The collect's local date, yyyy-MM-dd.</summary>
    [JsonPropertyName("date")] public string Date { get; set; } = "";
    [JsonPropertyName("items")] public List<CollectManifestItem> Items { get; set; } = new();

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public void Write(string path) =>
        AtomicFile.Write(path, stream =>
        {
            using var gz = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
            JsonSerializer.Serialize(gz, this, Options);
        });

    /// <exception cref="InvalidDataException">Not a manifest.</exception>
    public static CollectManifest Read(Stream stream)
    {
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return JsonSerializer.Deserialize<CollectManifest>(gz, Options) ?? throw new InvalidDataException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }
}

/// <summary>One archive job of a collect: <see cref="Stem"/> names it across days (the archive name without extension).</summary>
public sealed class CollectManifestItem
{
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    [JsonPropertyName("stem")] public string Stem { get; set; } = "";
    [JsonPropertyName("mode")] public string Mode { get; set; } = "";
    /// <summary>The archive holds every file of <see cref="Paths"/> (not only the day's changes).</summary>
    [JsonPropertyName("complete")] public bool Complete { get; set; }
    /// <summary>The archive's file name, or null when nothing needed archiving today.</summary>
    [JsonPropertyName("archive")] public string? Archive { get; set; }
    [JsonPropertyName("sha256")] public string? Sha256 { get; set; }
    [JsonPropertyName("size")] public long Size { get; set; }
    /// <summary>Member names (absolute paths without the leading '/') of every file present at the collect.</summary>
    [JsonPropertyName("paths")] public List<string> Paths { get; set; } = new();

    /// <summary>
    /// The member names that are not valid UTF-8 (JSON strings cannot hold them), each as the base64 of its
    /// exact bytes. Absent when there are none.
    /// </summary>
    [JsonPropertyName("rawPaths")] public List<string>? RawPaths { get; set; }

    /// <summary>Every member name, the raw ones decoded as <see cref="Infrastructure.PosixPath"/> names.</summary>
    public IEnumerable<string> AllPaths() =>
        RawPaths == null ? Paths : Paths.Concat(RawPaths.Select(b => Infrastructure.PosixPath.Decode(Convert.FromBase64String(b))));
}
