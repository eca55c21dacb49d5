namespace BackupBuild.Tasks.Store;

public enum MediaKind { Cd, Dvd, Image }

/// <summary>
/// The media Cedar Backup writes, with their nominal sizes in sectors of 2048 bytes, plus "image": an ISO
/// file (or any drive) whose capacity is configured (StoreImageCapacity).
/// </summary>
public sealed record MediaType(string Name, bool Rewritable, MediaKind Kind, double NominalSectors)
{
    public const long Sector = 2048;

    public static readonly IReadOnlyList<MediaType> All = new[]
    {
        new MediaType("cdr-74", false, MediaKind.Cd, 332800), // 650 MB
        new MediaType("cdrw-74", true, MediaKind.Cd, 332800),
        new MediaType("cdr-80", false, MediaKind.Cd, 358400), // 700 MB
        new MediaType("cdrw-80", true, MediaKind.Cd, 358400),
        new MediaType("dvd+r", false, MediaKind.Dvd, 2306867.2), // 4.4 GiB
        new MediaType("dvd+rw", true, MediaKind.Dvd, 2306867.2),
        new MediaType("image", true, MediaKind.Image, 0),
    };

    public static MediaType? Find(string? name) => All.FirstOrDefault(m => m.Name == name);

    public static string Names => string.Join(", ", All.Select(m => m.Name));

    public static string RewritableNames => string.Join(", ", All.Where(m => m.Rewritable).Select(m => m.Name));
}
