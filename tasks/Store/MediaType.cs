namespace BackupBuild.Tasks.Store;

/// <summary>
/// The media Cedar Backup writes, with its capacities for a new disc (sectors of 2048 bytes;
/// CDs lose their lead-in), plus "image": an ISO file whose capacity is configured.
/// </summary>
public sealed record MediaType(string Name, bool Rewritable, long? NewDiscBytes)
{
    public const long Sector = 2048;

    public static readonly IReadOnlyList<MediaType> All = new[]
    {
        new MediaType("cdr-74", false, (332800 - 11400) * Sector),
        new MediaType("cdrw-74", true, (332800 - 11400) * Sector),
        new MediaType("cdr-80", false, (358400 - 11400) * Sector),
        new MediaType("cdrw-80", true, (358400 - 11400) * Sector),
        // 4.4 GiB, whole sectors.
        new MediaType("dvd+r", false, 2306867 * Sector),
        new MediaType("dvd+rw", true, 2306867 * Sector),
        new MediaType("image", true, null),
    };

    public static MediaType? Find(string? name) => All.FirstOrDefault(m => m.Name == name);

    public static string Names => string.Join(", ", All.Select(m => m.Name));
}
