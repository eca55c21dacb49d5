using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Iso;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>
/// An ISO image file played as a disc, written by our own ISO writer: a new disc is a new file (written under a
/// temporary name, then renamed over the old one); other days append a session (<see cref="IsoMedium"/>).
/// </summary>
public sealed class ImageFileMedium(string path, DateTimeOffset creationTime) : IMedium
{
    private IsoImageBuilder? prepared;
    private SessionPlan? preparedFor;

    public string Name => path;

    public bool CanStartNewDisc(MediumInfo info) => true;

    public MediumInfo Inspect()
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0) return new MediumInfo(true, true, null, 0, IsoMedium.HeadBlocks);
        try
        {
            var state = Read(stream => IsoMedium.Inspect(stream));
            return state.IsBlank
                ? Damaged("there is no ISO 9660 volume descriptor at block 16")
                : new MediumInfo(false, true, state.Head!.VolumeId, state.Sessions.Count, state.NextSessionStart);
        }
        catch (CodedError e) when (e.ResourceName == "Media.NotAnImage")
        {
            return Damaged((string)e.Arguments[1]);
        }

        // Like a disc the drive cannot read: no label, nothing to append to, but a new disc may replace it.
        static MediumInfo Damaged(string why) => new(false, false, null, 0, 0, why);
    }

    public long Measure(SessionPlan plan)
    {
        var builder = Prepare(plan);
        return builder.ImageSize + (plan.NewDisc ? IsoMedium.HeadBlocks * (long)MediaType.Sector : 0);
    }

    public void Write(SessionPlan plan, IProgress<long> written, CancellationToken cancel)
    {
        var builder = Prepare(plan);
        try
        {
            if (plan.NewDisc)
            {
                PrivateFiles.CreateRoot(Path.GetDirectoryName(path)!);
                AtomicFile.Write(path, stream => IsoMedium.WriteNew(stream, builder, written, cancel));
            }
            else
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
                IsoMedium.Append(stream, builder, written, cancel);
            }
        }
        catch (IOException e)
        {
            throw new CodedError(plan.NewDisc ? "Store.WriteFailed" : "Media.AppendFailed", path, e.Message);
        }
    }

    public void Refresh(CancellationToken cancel) { }

    public IReadOnlyList<StagedEntry>? WrittenEntries(string isoPath) =>
        prepared?.EntriesBelow(isoPath).Select(e => new StagedEntry(e.RelativePath, e.Entry.Mode,
            e.Entry.Kind switch
            {
                IsoEntryKind.File => e.Entry.Size,
                IsoEntryKind.Symlink => System.Text.Encoding.UTF8.GetByteCount(e.Entry.LinkTarget ?? ""), // lstat's size of a link
                _ => 0,
            }, e.Entry.Sha256)).ToList();

    public IReadOnlyDictionary<string, byte[]>? HashFiles(string isoPath, CancellationToken cancel) => Read(stream =>
    {
        var state = IsoMedium.Inspect(stream);
        if (state.IsBlank) return null;
        var directory = IsoFiles.Find(IsoMedium.ReadTree(stream, state.Head!), isoPath);
        if (directory is not { IsDirectory: true }) return null;
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (relative, entry) in IsoFiles.Walk(directory))
        {
            if (entry.Kind != IsoEntryKind.File) continue;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            IsoFiles.Read(stream, entry, (buffer, count) => sha.AppendData(buffer, 0, count), cancel);
            hashes[relative] = sha.GetHashAndReset();
        }
        return (IReadOnlyDictionary<string, byte[]>)hashes;
    });

    /// <summary>The session for a plan, built once for measuring and writing (both need the same scan).</summary>
    private IsoImageBuilder Prepare(SessionPlan plan)
    {
        if (prepared != null && ReferenceEquals(preparedFor, plan)) return prepared;
        var builder = new IsoImageBuilder(plan.Label) { CreationTime = creationTime };
        try
        {
            if (plan.NewDisc) builder.SessionStart = IsoMedium.HeadBlocks;
            else
                Read(stream =>
                {
                    var state = IsoMedium.Inspect(stream);
                    builder.SessionStart = state.NextSessionStart;
                    builder.Import(IsoMedium.ReadTree(stream, state.Head!), path);
                    return 0;
                });
            foreach (var directory in plan.EmptyDirectories) builder.AddEmptyDirectory(directory);
            foreach (var (isoPath, source) in plan.Days)
            {
                builder.Remove(isoPath);
                builder.AddDirectory(isoPath, source);
            }
            _ = builder.ImageSize; // lays it out now, so layout problems surface as "cannot image"
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException or UnauthorizedAccessException)
        {
            throw new CodedError("Store.CannotImage", string.Join(", ", plan.Days.Select(d => d.Source)), e.Message);
        }
        (prepared, preparedFor) = (builder, plan);
        return builder;
    }

    /// <summary>Reads the image; a damaged one is a coded error that names it.</summary>
    private T Read<T>(Func<FileStream, T> read)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            return read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new CodedError("Media.NotAnImage", path, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CodedError("Media.CannotRead", path, e.Message);
        }
    }
}
