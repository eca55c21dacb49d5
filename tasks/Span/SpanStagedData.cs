using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store;
using BackupBuild.Tasks.Store.Iso;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Span;

/// <summary>
/// Cedar's cback3-span, unattended: every staged day without cback.store, across as many ISO images as it needs
/// (ImagePattern with {n} = 001, 002 …), each filled to at most Capacity less CushionPercent, each read back and
/// compared (SHA-256 of every file against what was read from staging), with an index of which file is on which
/// medium on every medium (span/index.txt) and beside the images; then cback.store in those days (MarkStored).
/// </summary>
public sealed class SpanStagedData : BackupTask
{
    [Required] public string StagingDir { get; set; } = "";
    [Required] public string WorkingDir { get; set; } = "";
    /// <summary>
    /// @(BackupSpanSettings): SpanImagePattern ({n} = 001, 002 …), SpanCapacity, SpanCushionPercent, SpanMarkStored and
    /// the label prefix StoreMediaLabel (Settings/SpanSettings).
    /// </summary>
    public ITaskItem? SpanSettings { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, lock wait.</summary>
    public ITaskItem? RunSettings { get; set; }

    [Output] public ITaskItem[] Images { get; set; } = [];
    [Output] public string IndexFile { get; set; } = "";

    private static readonly Regex DayPath = new(@"^[0-9]{4}/[0-9]{2}/[0-9]{2}$");

    protected override bool Run()
    {
        var problems = new Problems();
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var span = Settings.SpanSettings.Parse(SpanSettings, problems);
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var clock = run?.Clock;
        problems.LogTo(Log);
        if (problems.HasErrors || span == null) return false;
        var (pattern, capacity, cushion, mark, labelPrefix) = (span.ImagePattern, span.Capacity, span.CushionPercent, span.MarkStored, span.LabelPrefix);

        using var storeLock = ActionLock.Acquire(working!, "store", run!.LockWait, Cancellation);

        // The days Cedar's span takes: staged daily folders without cback.store.
        var days = Directory.Exists(staging)
            ? Directory.EnumerateDirectories(staging!, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2 })
                .Select(d => (Iso: Path.GetRelativePath(staging!, d), Dir: d))
                .Where(d => DayPath.IsMatch(d.Iso) && !File.Exists(Path.Combine(d.Dir, Indicators.Store)))
                .OrderBy(d => d.Iso, StringComparer.Ordinal).ToList()
            : [];
        var files = new List<SpanFile>();
        foreach (var (iso, dir) in days)
            foreach (var path in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                         .OrderBy(p => p, StringComparer.Ordinal))
                if (Posix.LStat(path, out _) is { IsRegular: true } s)
                    files.Add(new SpanFile(iso + "/" + Path.GetRelativePath(dir, path).Replace('\\', '/'), path, s.Size));
        if (files.Count == 0)
        {
            Progress("Span.Nothing", staging!);
            return true;
        }

        var room = SpanPlan.Room(capacity, cushion);
        var (media, tooBig) = SpanPlan.Assign(files, room);
        if (tooBig != null)
        {
            Log.LogErrorWithCodeFromResources("Span.TooBig", tooBig.Source, Units.Bytes(tooBig.Size), Units.Bytes(room), cushion.ToString(CultureInfo.InvariantCulture));
            return false;
        }
        var imagePaths = Enumerable.Range(1, media).Select(n => pattern!.Replace("{n}", n.ToString("000", CultureInfo.InvariantCulture))).ToList();
        var indexName = Path.GetFileName(pattern!.Replace("{n}", "index"));
        indexName = Path.ChangeExtension(indexName, ".txt");
        var index = SpanPlan.Index(files, imagePaths.Select(Path.GetFileName).ToList()!, clock!.Now);
        Progress("Span.Planned", files.Count, Units.Bytes(files.Sum(f => f.Size)), days.Count, media, Units.Bytes(room));

        var imageDir = Path.GetDirectoryName(imagePaths[0])!;
        PrivateFiles.CreateRoot(imageDir);
        AtomicFile.RemoveLeftovers(imageDir);
        var indexTemp = AtomicFile.TempDirectoryFor(Path.Combine(imageDir, "span-index"));
        Directory.CreateDirectory(indexTemp);
        try
        {
            var indexBytes = Encoding.UTF8.GetBytes(index);
            File.WriteAllBytes(Path.Combine(indexTemp, "index.txt"), indexBytes);
            for (var k = 1; k <= media; k++)
                if (!WriteMedium(k, media, imagePaths[k - 1], files.Where(f => f.Medium == k).ToList(), days, indexTemp, indexBytes, room, labelPrefix, clock.Now))
                    return false;
            IndexFile = Path.Combine(imageDir, indexName);
            AtomicFile.WriteAllBytes(IndexFile, indexBytes);
        }
        finally
        {
            try { Directory.Delete(indexTemp, recursive: true); } catch (IOException) { }
        }
        Images = imagePaths.Select(p => (ITaskItem)new TaskItem(p)).ToArray();

        if (mark)
        {
            var names = string.Join(", ", imagePaths.Select(Path.GetFileName));
            foreach (var (_, dir) in days)
                AtomicFile.WriteAllBytes(Path.Combine(dir, Indicators.Store), StagingListing.IndicatorContent(StagingListing.Fingerprint(dir), names));
        }
        Progress("Span.Done", media, IndexFile);
        return true;
    }

    private bool WriteMedium(int k, int media, string imagePath, List<SpanFile> mine, List<(string Iso, string Dir)> days,
        string indexDir, byte[] indexBytes, long room, string labelPrefix, DateTime now)
    {
        var label = $"{labelPrefix} SPAN {k:000}";
        IsoImageBuilder builder;
        try
        {
            builder = new IsoImageBuilder(label) { SessionStart = IsoMedium.HeadBlocks, CreationTime = now };
            var wanted = mine.Select(f => f.IsoPath).ToHashSet(StringComparer.Ordinal);
            foreach (var (iso, dir) in days.Where(d => mine.Any(f => f.IsoPath.StartsWith(d.Iso + "/", StringComparison.Ordinal))))
            {
                builder.AddDirectory(iso, dir);
                // The scan took the whole day: drop what belongs on other media (and links, special files, indicators of stores).
                foreach (var (relative, entry) in builder.EntriesBelow(iso).ToList())
                    if (!entry.IsDirectory && !wanted.Contains(iso + "/" + relative)) builder.Remove(iso + "/" + relative);
            }
            builder.AddDirectory("span", indexDir);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException)
        {
            Log.LogErrorWithCodeFromResources("Span.WriteFailed", imagePath, e.Message);
            return false;
        }
        var size = builder.ImageSize + IsoMedium.HeadBlocks * (long)IsoBytes.BlockSize;
        if (size > room)
        {
            Log.LogErrorWithCodeFromResources("Span.Overfull", imagePath, Units.Bytes(size), Units.Bytes(room));
            return false;
        }
        try
        {
            AtomicFile.Write(imagePath, stream => IsoMedium.WriteNew(stream, builder, null, Cancellation));
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Span.WriteFailed", imagePath, e.Message);
            return false;
        }

        // Read the medium back: every planned file there with the bytes read from staging, and the index.
        var written = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var day in mine.Select(f => f.IsoPath[..10]).Distinct())
            foreach (var (relative, entry) in builder.EntriesBelow(day))
                written[day + "/" + relative] = entry.Sha256;
        string? problem = null;
        using (var stream = new FileStream(imagePath, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            var state = IsoMedium.Inspect(stream);
            var root = state.IsBlank ? null : IsoMedium.ReadTree(stream, state.Head!);
            if (root == null) problem = "no ISO 9660 volume";
            else
            {
                foreach (var f in mine)
                {
                    var entry = IsoFiles.Find(root, f.IsoPath);
                    if (entry == null || entry.Kind != IsoEntryKind.File) { problem = $"\"{f.IsoPath}\" is missing"; break; }
                    var hash = Hash(stream, entry);
                    if (entry.Size != f.Size || written.GetValueOrDefault(f.IsoPath) is not { } expected || !hash.AsSpan().SequenceEqual(expected))
                    { problem = $"\"{f.IsoPath}\" differs from \"{f.Source}\""; break; }
                }
                var onMedium = IsoFiles.Find(root, "span/index.txt");
                if (problem == null && (onMedium == null || !HashOf(indexBytes).AsSpan().SequenceEqual(Hash(stream, onMedium))))
                    problem = "the index span/index.txt is missing or differs";
            }
        }
        if (problem != null)
        {
            File.Delete(imagePath);
            Log.LogErrorWithCodeFromResources("Span.VerifyFailed", imagePath, problem);
            return false;
        }
        Progress("Span.MediumWritten", k, media, imagePath, mine.Count, Units.Bytes(size), Units.Bytes(room));
        return true;
    }

    private byte[] Hash(Stream stream, IsoEntry entry)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        IsoFiles.Read(stream, entry, (buffer, count) => sha.AppendData(buffer, 0, count), Cancellation);
        return sha.GetHashAndReset();
    }

    private static byte[] HashOf(byte[] data) => SHA256.HashData(data);
}
