using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The staged days of a session with the SHA-256 of every file, which CheckData and cback.store need once the
/// session is written. Our image writer hashes each file while copying it, so nothing is read twice; for a drive
/// (xorriso writes) the days are hashed in the background while xorriso runs.
/// </summary>
public sealed class StagedDays : IDisposable
{
    private readonly IMedium? medium;
    private readonly Dictionary<string, string> sources;
    private readonly CancellationTokenSource cancel;
    private readonly Task<Dictionary<string, IReadOnlyList<StagedEntry>>>? scan;

    /// <param name="days">ISO path of each day ("2026/11/24") and its staging folder.</param>
    public StagedDays(IEnumerable<(string IsoPath, string Source)> days, IMedium? medium, CancellationToken outer)
    {
        this.medium = medium;
        sources = days.ToDictionary(d => d.IsoPath, d => d.Source);
        cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        if (medium is not ImageFileMedium)
            scan = Task.Run(() => sources.ToDictionary(d => d.Key, d => StagingListing.Scan(d.Value, cancel.Token)), cancel.Token);
    }

    /// <summary>The entries of one day, once the session is written. Rethrows what hashing threw.</summary>
    public IReadOnlyList<StagedEntry> this[string isoPath] =>
        scan != null ? scan.GetAwaiter().GetResult()[isoPath]
            : medium?.WrittenEntries(isoPath) is { } written && written.All(e => !e.IsRegularFile || e.Sha256 != null) ? written
            : StagingListing.Scan(sources[isoPath], cancel.Token);

    /// <summary>Stops hashing that is no longer wanted (the session failed) and waits for it to stop.</summary>
    public void Dispose()
    {
        cancel.Cancel();
        try { scan?.Wait(); } catch (AggregateException) { }
        cancel.Dispose();
    }
}
