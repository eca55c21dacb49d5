namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Cedar Backup 3's indicator files: each vouches for what its folder holds.</summary>
public static class Indicators
{
    public const string Collect = "cback.collect";
    public const string Stage = "cback.stage";
    public const string Store = "cback.store";

    public static bool IsIndicator(string fileName) => fileName.StartsWith("cback.", StringComparison.Ordinal);

    /// <summary>Writes an empty indicator, last, after everything it vouches for is durable.</summary>
    public static void Write(string directory, string name) =>
        AtomicFile.WriteAllBytes(Path.Combine(directory, name), Array.Empty<byte>());
}
