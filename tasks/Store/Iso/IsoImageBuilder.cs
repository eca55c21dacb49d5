namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Builds an ISO 9660 image with Rock Ridge (real names, modes, owners, times and symbolic links) from
/// one or more source folders, each placed at a path on the image. Sources are scanned when added and
/// read again only by <see cref="WriteTo"/>, which streams the image.
/// </summary>
public sealed class IsoImageBuilder
{
    /// <summary>The largest extent a directory record can describe in whole blocks: 4 GiB − 2048.</summary>
    internal const long MaxExtentSize = 0xFFFFF800;

    private readonly IsoEntry root = IsoEntry.NewSyntheticDirectory("", null);
    private readonly long extentLimit;
    private string systemId = "LINUX";
    private string applicationId = "BACKUPBUILD";
    private string publisherId = "";
    private IsoLayout? layout;

    /// <param name="volumeId">The volume label: at most 32 letters, digits, '_', '-' or spaces; lowercase is uppercased.</param>
    public IsoImageBuilder(string volumeId) : this(volumeId, MaxExtentSize)
    {
    }

    /// <summary>Lets tests split files into extents without writing gigabytes.</summary>
    internal IsoImageBuilder(string volumeId, long extentLimit)
    {
        if (extentLimit <= 0 || extentLimit > MaxExtentSize || extentLimit % IsoBytes.BlockSize != 0)
            throw new ArgumentOutOfRangeException(nameof(extentLimit), "The extent limit must be a positive multiple of 2048 up to 4 GiB − 2048.");
        VolumeId = IsoText.VolumeIdentifier(volumeId);
        this.extentLimit = extentLimit;
    }

    public string VolumeId { get; }

    public string SystemId { get => systemId; set => systemId = IsoText.AField(value, 32, "system identifier"); }

    public string ApplicationId { get => applicationId; set => applicationId = IsoText.AField(value, 128, "application identifier"); }

    public string PublisherId { get => publisherId; set => publisherId = IsoText.AField(value, 128, "publisher identifier"); }

    /// <summary>The volume's dates, and the time of folders that exist only on the image (graft parents, the root).</summary>
    public DateTimeOffset CreationTime { get; set; } = DateTimeOffset.Now;

    /// <summary>
    /// Puts the contents of <paramref name="sourceDirectory"/> at <paramref name="isoPath"/> ("2026/11/21"; "" for
    /// the root), creating missing parent folders. The tree is scanned now; nothing changes when this throws.
    /// </summary>
    /// <exception cref="NotSupportedException">The tree holds a device, FIFO or socket.</exception>
    /// <exception cref="ArgumentException">The path is invalid or something at it was already added.</exception>
    public void AddDirectory(string isoPath, string sourceDirectory)
    {
        ArgumentNullException.ThrowIfNull(sourceDirectory);
        GraftPoints.Components(isoPath);
        var scanned = SourceScanner.Scan(sourceDirectory);
        GraftPoints.Graft(root, isoPath, scanned);
        layout = null;
    }

    /// <summary>The exact number of bytes <see cref="WriteTo"/> will write; a multiple of 2048.</summary>
    public long ImageSize => Layout().TotalBlocks * (long)IsoBytes.BlockSize;

    /// <summary>Regular files and symbolic links on the image (directories not counted).</summary>
    public long FileCount => Layout().FileCount;

    /// <summary>
    /// Writes the image to <paramref name="output"/> from its current position, reporting the bytes written so far.
    /// </summary>
    /// <exception cref="IOException">A source file cannot be read or changed size since it was scanned.</exception>
    public void WriteTo(Stream output, IProgress<long>? bytesWritten = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var current = Layout();
        var labels = new VolumeLabels(VolumeId, SystemId, ApplicationId, PublisherId, CreationTime);
        using var image = new ImageOutput(output, bytesWritten, cancel);
        IsoImageWriter.Write(root, current, labels, extentLimit, image);
    }

    private IsoLayout Layout() => layout ??= IsoLayout.Compute(root, extentLimit);
}
