using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>
/// A CD or DVD writer (or any xorriso drive address, such as stdio:/path), written through xorriso: it builds
/// the session, blanks, burns and appends. Cedar's refresh (eject, wait, load, wait) runs between writing and
/// reading back.
/// </summary>
public sealed class DriveMedium(string device, StoreSettings settings, Xorriso xorriso) : IMedium
{
    public string Name => device;

    public bool CanStartNewDisc(MediumInfo info) => info.Blank || settings.Media.Rewritable;

    public MediumInfo Inspect()
    {
        if (MountPoint(device) is { } mountPoint) throw new CodedError("Media.Mounted", device, mountPoint);
        var report = XorrisoReport.Parse(xorriso.Run(XorrisoCommands.Toc(device), CancellationToken.None));
        return new MediumInfo(report.Blank, report.Appendable, report.Blank ? null : report.VolumeId, report.Sessions,
            report.NextWritableBlock ?? 0);
    }

    /// <summary>xorriso's -print_size, which includes its padding; for an appended session capped by what the drive says is free.</summary>
    public long Measure(SessionPlan plan)
    {
        var report = XorrisoReport.Parse(xorriso.Run(XorrisoCommands.Measure(device, plan), CancellationToken.None));
        var blocks = report.ImageBlocks ?? throw new CodedError("Media.ToolFailed", "xorriso -print_size", 0, "no \"Image size\" line");
        if (!plan.NewDisc && report.FreeBlocks is { } free && free < blocks) return long.MaxValue; // the drive says it cannot fit
        return blocks * MediaType.Sector;
    }

    public void Write(SessionPlan plan, IProgress<long> written, CancellationToken cancel) =>
        xorriso.Run(XorrisoCommands.Write(device, plan, settings.Media, settings.DriveSpeed, blank: settings.Media.Rewritable), cancel);

    public IReadOnlyList<StagedEntry>? WrittenEntries(string isoPath) => null;

    public void Refresh(CancellationToken cancel)
    {
        if (!settings.Eject) return;
        xorriso.Run(XorrisoCommands.Eject(device), cancel);
        Wait(settings.EjectDelaySeconds, cancel);
        xorriso.Run(XorrisoCommands.Load(device), cancel);
        Wait(settings.RefreshMediaDelaySeconds, cancel);
    }

    /// <summary>Extracts the folder from the medium into a temporary folder in WorkingDir and hashes what came out.</summary>
    public IReadOnlyDictionary<string, byte[]>? HashFiles(string isoPath, CancellationToken cancel)
    {
        const string Prefix = AtomicFile.TempPrefix + "check-";
        if (Directory.Exists(settings.WorkingDir))
            foreach (var leftover in Directory.EnumerateDirectories(settings.WorkingDir, Prefix + "*")) RemoveTree(leftover); // a killed run's
        var temp = Path.Combine(settings.WorkingDir, Prefix + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Directory.CreateDirectory(temp);
            var target = Path.Combine(temp, "day");
            try
            {
                xorriso.Run(XorrisoCommands.Extract(device, isoPath, target), cancel);
            }
            catch (CodedError) when (!Directory.Exists(target))
            {
                return null; // the folder is not on the medium
            }
            var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var entry in StagingListing.Scan(target, cancel))
                if (entry.IsRegularFile) hashes[entry.RelativePath] = entry.Sha256!;
            return hashes;
        }
        finally
        {
            RemoveTree(temp);
        }
    }

    /// <summary>Where the device is mounted, if it is (Cedar refuses to write a mounted device, and so do we).</summary>
    public static string? MountPoint(string device)
    {
        if (device.StartsWith("stdio:", StringComparison.Ordinal) || !File.Exists("/proc/mounts")) return null;
        var real = Path.GetFullPath(new FileInfo(device).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? device);
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 1 && (fields[0] == device || fields[0] == real)) return fields[1].Replace("\\040", " ");
        }
        return null;
    }

    private static void Wait(int seconds, CancellationToken cancel)
    {
        if (seconds > 0) cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
        cancel.ThrowIfCancellationRequested();
    }

    /// <summary>Extracted folders keep the medium's modes, which may be read-only: make them writable to remove them.</summary>
    private static void RemoveTree(string path)
    {
        MakeWritable(path);
        try { Directory.Delete(path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void MakeWritable(string directory)
    {
        try
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var child in Directory.EnumerateDirectories(directory))
                if (new DirectoryInfo(child).LinkTarget == null) MakeWritable(child); // never chmod through a link
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
