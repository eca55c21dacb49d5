using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// What Store, Rebuild and Initialize share: the store properties, the medium (image file or drive), and
/// writing one session safely: check the label, check the room left, write, refresh, read back.
/// </summary>
public abstract class MediaTask : BackupTask
{
    /// <summary>The staging root (StagingDir).</summary>
    public string? StagingDir { get; set; }
    /// <summary>The collect dir (CollectDir): the image must not lie inside it (BKP1602).</summary>
    public string? CollectDir { get; set; }
    /// <summary>Where locks and temporary files live (WorkingDir).</summary>
    public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): run date, starting day, Full, lock wait (Settings.RunSettings).</summary>
    public Microsoft.Build.Framework.ITaskItem? RunSettings { get; set; }
    /// <summary>@(BackupStoreSettings): the medium, the drive and the checks (docs/configuration.md, Store*).</summary>
    public Microsoft.Build.Framework.ITaskItem? StoreSettings { get; set; }

    internal static TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Test seam: runs after a session is written and before it is read back, with the medium's name.</summary>
    internal Action<string>? AfterWrite { get; set; }

    /// <summary>The run and store groups as Validate parses them; problems are added to <paramref name="problems"/>.</summary>
    protected StoreSettings? ParseSettings(Problems problems, bool log = true)
    {
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var settings = Store.StoreSettings.Parse(StoreSettings, run, StagingDir, WorkingDir, CollectDir, problems);
        if (log) problems.LogTo(Log);
        return settings;
    }

    protected IMedium OpenMedium(StoreSettings settings) => settings.Device is { } device
        ? new DriveMedium(device, settings,
            new Media.Xorriso(settings.Xorriso, TimeSpan.FromSeconds(settings.DriveTimeoutSeconds), line => Detail("Media.ToolLine", line)))
        : new ImageFileMedium(settings.ImageFile, settings.Clock.Now);

    protected IDisposable Lock(StoreSettings settings) =>
        ActionLock.Acquire(settings.WorkingDir, "store", settings.LockWait, Cancellation);

    /// <summary>Cedar's check_media; logs the refusal and returns false.</summary>
    protected bool LabelAccepted(StoreSettings settings, IMedium medium, MediumInfo info)
    {
        if (!settings.CheckMedia) return true;
        if (MediaLabelCheck.Refusal(info, settings, medium.Name) is { } refusal)
        {
            Log.LogErrorWithCodeFromResources(refusal.Resource, refusal.Args);
            return false;
        }
        Detail("Media.LabelAccepted", medium.Name, info.Label ?? "(none: not rewritable, blank)");
        return true;
    }

    /// <summary>
    /// Checks that the session fits what is left, writes it, refreshes the medium and, with CheckData, reads every
    /// day back. Returns false after logging an error; nothing is written when the session does not fit.
    /// </summary>
    protected bool WriteSession(StoreSettings settings, IMedium medium, MediumInfo info, SessionPlan plan,
        StagedDays staged, out string percentUsed)
    {
        percentUsed = "";
        var days = plan.Days.Count == 0 ? "(none)" : string.Join(", ", plan.Days.Select(d => d.IsoPath));
        if (!plan.NewDisc && !info.Appendable)
        {
            if (info.Damage != null) Log.LogErrorWithCodeFromResources("Media.NotAnImage", medium.Name, info.Damage);
            else Log.LogErrorWithCodeFromResources("Media.Closed", medium.Name);
            return false;
        }
        if (plan.NewDisc && !medium.CanStartNewDisc(info))
        {
            Log.LogErrorWithCodeFromResources("Media.NotBlank", settings.Media.Name, medium.Name, info.Sessions);
            return false;
        }
        var size = medium.Measure(plan);
        var available = MediaCapacity.Available(settings.Media, settings.ImageCapacity, plan.NewDisc, info.NextWritableBlock);
        if (size > available)
        {
            if (plan.NewDisc)
                Log.LogErrorWithCodeFromResources("Store.TooBig", days, Units.Bytes(size), settings.Media.Name, Units.Bytes(available), medium.Name);
            else
                Log.LogErrorWithCodeFromResources("Media.SessionTooBig", days, size == long.MaxValue ? "more" : Units.Bytes(size),
                    Units.Bytes(available), medium.Name, info.Sessions, settings.Media.Name);
            return false;
        }
        if (plan.NewDisc) Progress("Media.NewDisc", medium.Name, plan.Label, Units.Bytes(size));
        else Progress("Media.Appending", info.Sessions + 1, medium.Name, info.NextWritableBlock, Units.Bytes(size), Units.Bytes(available));

        long written = 0;
        // xorriso reports its own progress (its UPDATE lines are in the log); our writer reports through the ticker.
        using (medium is ImageFileMedium
                   ? new ProgressTicker(ProgressInterval, () => Progress("Store.Progress", medium.Name, Units.Bytes(Interlocked.Read(ref written)), Units.Bytes(size)))
                   : null)
            medium.Write(plan, new Progress<long>(n => Interlocked.Exchange(ref written, n)), Cancellation);

        try { medium.Refresh(Cancellation); }
        catch (CodedError e) { Log.LogWarningWithCodeFromResources("Media.RefreshFailed", medium.Name, e.Message); }
        AfterWrite?.Invoke(medium.Name);
        percentUsed = Percent(settings, info, plan, size);
        return !settings.CheckData || DataMatches(settings, medium, plan, staged);
    }

    private bool DataMatches(StoreSettings settings, IMedium medium, SessionPlan plan, StagedDays staged)
    {
        var ok = true;
        foreach (var (isoPath, source) in plan.Days)
        {
            var differences = DataCheck.Compare(isoPath, source, staged[isoPath], medium.HashFiles(isoPath, Cancellation), medium.Name);
            foreach (var d in differences) Log.LogErrorWithCodeFromResources(d.Resource, d.Args);
            if (differences.Count == 0)
                Progress("Media.DataChecked", staged[isoPath].Count(e => e.IsRegularFile), "/" + isoPath, medium.Name);
            ok &= differences.Count == 0;
        }
        return ok;
    }

    /// <summary>How full the medium is after the session, for the summary line.</summary>
    private static string Percent(StoreSettings settings, MediumInfo info, SessionPlan plan, long size)
    {
        var used = (plan.NewDisc ? 0 : info.NextWritableBlock * Store.MediaType.Sector) + size;
        var total = MediaCapacity.Total(settings.Media, settings.ImageCapacity);
        return (100.0 * used / Math.Max(1, total)).ToString("0.0", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Removes the temporary cback.store a killed Store left in the day (it would go onto the medium), then
    /// refuses a day holding a temporary file of an unfinished Stage (killed while staging the day again, after
    /// its cback.stage was written the first time): the half-copied file would go onto the medium under a name
    /// that looks like data. Logs one coded error per leftover and returns false.
    /// </summary>
    protected bool HasNoStagingLeftovers(string dayDir)
    {
        List<string> leftovers;
        try
        {
            // Store's own leftover first: a run killed while writing cback.store leaves its temporary file in the day.
            foreach (var own in Directory.EnumerateFiles(dayDir, AtomicFile.TempPrefix + Indicators.Store + ".*").ToList())
            {
                try { File.Delete(own); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            leftovers = Directory.EnumerateFileSystemEntries(dayDir, AtomicFile.TempPrefix + "*",
                new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // an unreadable day is reported with its own code when the session is built
        }
        foreach (var leftover in leftovers) Log.LogErrorWithCodeFromResources("Store.StagingLeftover", leftover, dayDir);
        return leftovers.Count == 0 && StagedArchivesMatchTheirManifests(dayDir);
    }

    /// <summary>
    /// Reads every staged archive a peer's collect manifest names and compares its size and SHA-256 with what
    /// the collect recorded: an archive that is missing (never staged, removed), cut short or damaged in the
    /// staging folder is refused with a coded error naming it and its peer, before anything is written, instead
    /// of being stored as if the day were complete. An archive the split extension cut into pieces is checked as
    /// its pieces one after another; one the encrypt extension replaced by FILE.gpg cannot be checked here.
    /// Peers without a manifest (Cedar Backup clients) are stored as they are.
    /// </summary>
    private bool StagedArchivesMatchTheirManifests(string dayDir)
    {
        var sound = true;
        foreach (var manifestPath in Directory.EnumerateFiles(dayDir, Collect.CollectManifest.FileName, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            Collect.CollectManifest manifest;
            try
            {
                using var stream = File.OpenRead(manifestPath);
                manifest = Collect.CollectManifest.Read(stream);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException)
            {
                Log.LogErrorWithCodeFromResources("Store.DamagedManifest", manifestPath, e.Message);
                sound = false;
                continue;
            }
            var peerDir = Path.GetDirectoryName(manifestPath)!;
            var peer = Path.GetRelativePath(dayDir, peerDir);
            foreach (var item in manifest.Items.Where(i => i.Archive != null))
            {
                Cancellation.ThrowIfCancellationRequested();
                if (item.Archive is "" or "." or ".." || item.Archive!.Contains('/') || item.Archive.Contains('\0'))
                {
                    // A manifest is input from the peer: it names files of its own folder, nothing else.
                    Log.LogErrorWithCodeFromResources("Store.DamagedManifest", manifestPath, $"it names the archive \"{item.Archive}\", which is not a file name");
                    sound = false;
                    continue;
                }
                var archive = Path.Combine(peerDir, item.Archive);
                // Only regular files count (a link is not followed); the split extension's pieces stand for the whole file.
                var pieces = Posix.LStat(archive, out _) is { IsRegular: true } ? [archive]
                    : Extensions.Staged.StagedDayFolders.PiecesOf(archive).Where(f => Posix.LStat(f, out _) is { IsRegular: true }).Order(StringComparer.Ordinal).ToList();
                if (pieces.Count == 0)
                {
                    if (File.Exists(archive + ".gpg") || Extensions.Staged.StagedDayFolders.PiecesOf(archive + ".gpg").Any()) continue;
                    Log.LogErrorWithCodeFromResources("Store.StagedArchiveMissing", item.Archive!, peer, manifest.Date, manifestPath, dayDir);
                    sound = false;
                    continue;
                }
                if (item.Sha256 == null) continue;
                string actual;
                long size;
                try
                {
                    (actual, size) = Sha256Of(pieces);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.LogErrorWithCodeFromResources("Store.DamagedStagedArchive", archive, manifestPath, e.Message);
                    sound = false;
                    continue;
                }
                if (size < item.Size)
                {
                    Log.LogErrorWithCodeFromResources("Store.StagedArchiveShort", pieces.Count == 1 ? pieces[0] : archive + "_*", peer, manifest.Date, size, item.Size, manifestPath);
                    sound = false;
                }
                else if (size != item.Size || actual != item.Sha256)
                {
                    Log.LogErrorWithCodeFromResources("Store.DamagedStagedArchive", pieces.Count == 1 ? pieces[0] : archive + "_*", manifestPath,
                        size != item.Size ? $"{size} bytes, the collect wrote {item.Size}" : $"SHA-256 {actual}, the collect wrote {item.Sha256}");
                    sound = false;
                }
            }
        }
        return sound;
    }

    /// <summary>SHA-256 (lower-case hex) and size of files read one after another.</summary>
    private static (string Sha256, long Size) Sha256Of(IReadOnlyList<string> files)
    {
        if (files.Count == 1) return (FileHash.Sha256(files[0]), new FileInfo(files[0]).Length);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long size = 0;
        foreach (var file in files)
        {
            using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            int n;
            while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                size += n;
            }
        }
        return (Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), size);
    }

    /// <summary>
    /// Writes cback.store into a stored day: last, once the medium holds the day (and CheckData agreed). When it
    /// cannot be written (a full staging disk), logs BKP1810 naming the file and saying the medium holds the day,
    /// and returns false; the next Store finds the day on the medium and only writes cback.store (see
    /// <see cref="AlreadyOnMedium"/>).
    /// </summary>
    protected bool MarkStored(string dayDir, string dayPath, IReadOnlyList<StagedEntry> staged, string medium)
    {
        var path = Path.Combine(dayDir, Indicators.Store);
        try
        {
            AtomicFile.WriteAllBytes(path, StagingListing.IndicatorContent(StagingListing.Fingerprint(staged), medium));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Store.CannotMarkStored", path, dayPath, medium, e.Message);
            return false;
        }
    }

    /// <summary>
    /// Whether the medium already holds the staging day exactly (every regular file with the same SHA-256, nothing
    /// else): a Store that wrote the day and then could not write cback.store (BKP1810). Then the day is not
    /// written again; only cback.store is. Null when the medium does not hold it as staged now.
    /// </summary>
    protected IReadOnlyList<StagedEntry>? AlreadyOnMedium(IMedium medium, MediumInfo info, string dayPath, string dayDir)
    {
        if (info.Blank) return null;
        IReadOnlyDictionary<string, byte[]>? onMedium;
        try
        {
            onMedium = medium.HashFiles(dayPath, Cancellation);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or CodedError or UnauthorizedAccessException)
        {
            return null;
        }
        if (onMedium == null) return null;
        var staged = StagingListing.Scan(dayDir, Cancellation);
        return DataCheck.Compare(dayPath, dayDir, staged, onMedium, medium.Name).Count == 0 ? staged : null;
    }
}
