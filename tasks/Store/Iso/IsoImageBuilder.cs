namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Builds an ISO 9660 image with Rock Ridge (real names, modes, owners, times and symbolic links) from
/// one or more source folders, each placed at a path on the image. Sources are scanned when added and
/// read again only by <see cref="WriteTo"/>, which streams the image.
/// A session appended to a medium starts at <see cref="SessionStart"/> and takes over the tree of the
/// medium's last session (<see cref="Import"/>): its files keep their data where it is.
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

    /// <summary>The block of the medium where this session starts; addresses in it are absolute. 0 for a plain image.</summary>
    public uint SessionStart
    {
        get => sessionStart;
        set
        {
            sessionStart = value;
            layout = null;
        }
    }

    private uint sessionStart;

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

    /// <summary>
    /// Takes over the tree of an earlier session (from <see cref="IsoMedium.ReadTree"/>): everything in it appears
    /// in this session too, pointing at the data already on the medium. Call before adding anything.
    /// </summary>
    /// <param name="mediumPath">The medium's file, read again for the few files whose data must be copied (see <see cref="IsoEntry.CopyExisting"/>).</param>
    internal void Import(IsoEntry earlierRoot, string mediumPath)
    {
        if (root.Children.Count > 0) throw new InvalidOperationException("Import the earlier session before adding to the image.");
        foreach (var (_, entry) in IsoFiles.Walk(earlierRoot))
            if (entry.Existing != null) entry.SourcePath = mediumPath;
        foreach (var child in earlierRoot.Children.Values.ToList())
        {
            child.Parent = root;
            root.Children.Add(child.Name, child);
        }
        layout = null;
    }

    /// <summary>Drops <paramref name="isoPath"/> and everything below it, if it is there; true when something was dropped.</summary>
    public bool Remove(string isoPath)
    {
        var components = GraftPoints.Components(isoPath);
        var parent = root;
        foreach (var name in components[..^1])
            if (!parent.Children.TryGetValue(name, out parent!) || !parent.IsDirectory) return false;
        var removed = components.Length > 0 && parent.Children.Remove(components[^1]);
        layout = null;
        return removed;
    }

    /// <summary>Adds an empty folder at <paramref name="isoPath"/> (with parents as needed), owned by root, mode 0755.</summary>
    public void AddEmptyDirectory(string isoPath)
    {
        GraftPoints.Graft(root, isoPath, IsoEntry.NewSyntheticDirectory("", null));
        layout = null;
    }

    /// <summary>
    /// Everything below <paramref name="isoPath"/> with its path relative to it: what was scanned for it, and after
    /// <see cref="WriteTo"/> the SHA-256 of each file's data as written. Empty when the path is not on the image.
    /// </summary>
    internal IEnumerable<(string RelativePath, IsoEntry Entry)> EntriesBelow(string isoPath) =>
        IsoFiles.Find(root, isoPath) is { IsDirectory: true } directory ? IsoFiles.Walk(directory) : [];

    /// <summary>The exact number of bytes <see cref="WriteTo"/> will write (the session); a multiple of 2048.</summary>
    public long ImageSize => Layout().SessionBlocks * (long)IsoBytes.BlockSize;

    /// <summary>The block after the session's last: the medium's size once the session is written.</summary>
    public uint EndBlock => Layout().TotalBlocks;

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
        using var image = new ImageOutput(output, bytesWritten, cancel);
        IsoImageWriter.Write(root, current, Labels, extentLimit, image);
    }

    /// <summary>
    /// The two blocks a medium carries at block 16 once this session is its newest: they make every reader
    /// that starts at block 16 see this session's tree (see <see cref="IsoMedium"/>).
    /// </summary>
    public byte[] HeadDescriptors() => IsoImageWriter.HeadDescriptors(root, Layout(), Labels);

    private VolumeLabels Labels => new(VolumeId, SystemId, ApplicationId, PublisherId, CreationTime);

    private IsoLayout Layout() => layout ??= IsoLayout.Compute(root, extentLimit, sessionStart);
}
