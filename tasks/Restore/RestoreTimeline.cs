using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>An archive of a peer's day, with its copies on the media and, from the manifest, its SHA-256.</summary>
internal sealed record ArchiveVersion(DateTime Day, string Peer, string Name, IReadOnlyList<StoredCopy> Copies, string? Sha256 = null);

/// <summary>
/// Which archives give a peer's files as of a day. For each source (an archive stem), the newest archive
/// that holds every file (daily and weekly archives, an incremental one on the starting day or with Full)
/// up to that day, and the incremental archives after it; read newest first, the first version of a path
/// wins. The newest manifest up to that day lists what was present: a path deleted since is left out.
/// Days without a manifest (a Cedar Backup peer) count every archive of the source, oldest to newest.
/// </summary>
internal static class RestoreTimeline
{
    /// <param name="Gaps">Holes in this source's chain up to the day: each a sentence naming the day (see <see cref="ChainGap"/>).</param>
    internal sealed record Source(string Stem, IReadOnlyList<ArchiveVersion> NewestFirst, HashSet<string>? Present,
        IReadOnlyList<ChainGap>? Gaps = null, string? Path = null, CollectManifestItem? Listing = null);

    /// <summary>A hole in a chain: the day it is on, and what is missing there (a sentence from the resources).</summary>
    internal sealed record ChainGap(DateTime Day, string Text);

    private sealed record Event(DateTime Day, string? Archive, bool Complete, List<string>? Paths, string? Sha256 = null,
        DateTime? Since = null, string? Path = null, CollectManifestItem? Item = null);

    public static List<Source> AsOf(StoredCatalog catalog, string peer, DateTime asOf, Action<string, object[]> warn)
    {
        var events = Events(catalog, peer, asOf, warn, MissedDays(catalog, peer));
        var result = new List<Source>();
        foreach (var (stem, list) in events.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var start = list.FindLastIndex(e => e.Complete);
            var relevant = list.Skip(Math.Max(start, 0)).ToList();
            var listing = relevant.LastOrDefault(e => e.Paths != null);
            var archives = relevant.Where(e => e.Archive != null)
                .Select(e => new ArchiveVersion(e.Day, peer, e.Archive!, catalog.Copies(e.Day, peer, e.Archive!), e.Sha256))
                .Where(a => a.Copies.Count > 0)
                .Reverse().ToList();
            result.Add(new Source(stem, archives, listing?.Paths is { } p ? new HashSet<string>(p, StringComparer.Ordinal) : null,
                Gaps(catalog, peer, list, start, relevant), listing?.Path, listing?.Item));
        }
        return result;
    }

    /// <summary>The events of each source (stem) of a peer up to a day, oldest first: one per manifest item, or per archive of a day without a manifest.</summary>
    /// <remarks>A day of <paramref name="missed"/> (a folder left part way) gives no events: nothing of it is trusted.</remarks>
    private static Dictionary<string, List<Event>> Events(StoredCatalog catalog, string peer, DateTime asOf, Action<string, object[]>? warn,
        IReadOnlyDictionary<DateTime, ChainGap> missed)
    {
        var events = new Dictionary<string, List<Event>>(StringComparer.Ordinal);
        void AddEvent(string stem, Event e)
        {
            if (!events.TryGetValue(stem, out var list)) events[stem] = list = new List<Event>();
            list.Add(e);
        }

        foreach (var day in catalog.Days(peer).Where(d => d <= asOf && !missed.ContainsKey(d)))
        {
            var manifest = catalog.Manifest(day, peer);
            if (manifest != null)
            {
                foreach (var item in manifest.Items)
                {
                    if (item.Archive != null && catalog.Copies(day, peer, item.Archive).Count == 0)
                        warn?.Invoke("Restore.ArchiveMissing", new object[] { item.Archive, day.ToString("yyyy-MM-dd"), peer });
                    AddEvent(item.Stem, new Event(day, item.Archive, item.Complete, item.AllPaths().ToList(), item.Sha256,
                        ParseDay(item.Since), item.Source, item));
                }
            }
            else
            {
                foreach (var name in catalog.Names(day, peer).Where(ArchiveStreams.IsArchiveName))
                    AddEvent(ArchiveStreams.Stem(name), new Event(day, name, false, null));
            }
        }
        return events;
    }

    private static DateTime? ParseDay(string? day) =>
        day != null && DateTime.TryParseExact(day, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out var d) ? d : null;

    private static string Day(DateTime d) => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The holes in the chain of one source that a restore as of its last event needs (only days with a manifest can
    /// be judged; a Cedar Backup peer's days have none): an archive a manifest names that no medium holds; a day an
    /// incremental archive builds on (its manifest's "since") of which nothing is stored; a chain that starts with an
    /// incremental archive, so the full archive under it is on none of the media.
    /// </summary>
    private static List<ChainGap> Gaps(StoredCatalog catalog, string peer, List<Event> all, int start, List<Event> relevant)
    {
        var gaps = new List<ChainGap>();
        if (relevant.Count == 0 || relevant[^1].Paths == null) return gaps;
        var days = all.Select(e => e.Day).ToHashSet();
        if (start < 0 && relevant[0].Paths != null && relevant[0].Since == null && relevant[0].Archive != null)
            gaps.Add(new ChainGap(relevant[0].Day, BackupTask.Format("Restore.GapStart", Day(relevant[0].Day), relevant[0].Archive!)));
        foreach (var e in relevant.Where(e => e.Paths != null))
        {
            if (e.Archive != null && catalog.Copies(e.Day, peer, e.Archive).Count == 0)
                gaps.Add(new ChainGap(e.Day, BackupTask.Format("Restore.GapArchive", Day(e.Day), e.Archive)));
            if (!e.Complete && e.Since is { } since && !days.Contains(since))
                gaps.Add(new ChainGap(since, BackupTask.Format("Restore.GapDay", Day(since), e.Path ?? "", Day(e.Day))));
        }
        return gaps.DistinctBy(g => g.Text).OrderBy(g => g.Day).ToList();
    }

    /// <summary>
    /// As of a day of which the peer has nothing stored: the hole when that day's tree is not known, because the next
    /// stored day's manifest says an item's state changed after the last stored day before (its "previous" or "since"
    /// is a day in between: a collect that was never stored), else null.
    /// </summary>
    public static ChainGap? NotStored(StoredCatalog catalog, string peer, DateTime day)
    {
        var days = catalog.Days(peer).ToList();
        if (days.Contains(day)) return null;
        var next = days.Where(d => d > day).DefaultIfEmpty(DateTime.MinValue).Min();
        var before = days.Where(d => d < day).DefaultIfEmpty(DateTime.MinValue).Max();
        if (next == DateTime.MinValue || before == DateTime.MinValue || catalog.Manifest(next, peer) is not { } manifest) return null;
        foreach (var item in manifest.Items)
        foreach (var link in new[] { ParseDay(item.Previous), ParseDay(item.Since) })
            if (link is { } changed && changed > before && changed < next)
                return new ChainGap(day, BackupTask.Format("Restore.GapUnstored", Day(day), Day(changed), item.Source, Day(next)));
        return null;
    }

    /// <summary>
    /// The days a peer's tree is not on the media although the pool was staged or stored that day, after the peer's
    /// first stored day: the peer has no folder that day (other peers do: it was not staged); or its folder lacks
    /// cback.collect, or its collect manifest, although its earlier days had them (it was not ready, or Stage stopped
    /// part way). Restore (<see cref="Missed"/>), Verify (BKP8050) and the report (BKP8214, BKP8215, BKP8051) all
    /// judge by this one rule. A day of it is not used in any chain.
    /// </summary>
    public static Dictionary<DateTime, ChainGap> MissedDays(StoredCatalog catalog, string peer)
    {
        var result = new Dictionary<DateTime, ChainGap>();
        var days = catalog.Days(peer).ToList();
        if (days.Count == 0) return result;
        bool collected = false, manifests = false;
        foreach (var day in catalog.PoolDays.Where(d => d >= days[0]))
        {
            var names = catalog.Names(day, peer);
            if (names.Count == 0)
            {
                if (day > days[0]) result[day] = new ChainGap(day, BackupTask.Format("Restore.GapNotStaged", Day(day)));
                continue;
            }
            var hasCollect = names.Contains(Indicators.Collect);
            // A manifest the encrypt extension encrypted counts as there when it is not read (Verify or the report without
            // the key, which say so themselves): the day is whole on the media, not a hole.
            var hasManifest = names.Contains(CollectManifest.FileName) ? catalog.Manifest(day, peer) != null
                : names.Contains(CollectManifest.FileName + ".gpg");
            if (collected && !hasCollect) result[day] = new ChainGap(day, BackupTask.Format("Restore.GapNotCollected", Day(day)));
            else if (manifests && !hasManifest) result[day] = new ChainGap(day, BackupTask.Format("Restore.GapNoManifest", Day(day)));
            collected |= hasCollect;
            manifests |= hasManifest;
        }
        return result;
    }

    /// <summary>
    /// As of a day: the days of <see cref="MissedDays"/> after the peer's newest whole day up to it (the peer was
    /// missing from then on), so a restore as of it cannot give that day's tree.
    /// </summary>
    public static List<ChainGap> Missed(StoredCatalog catalog, string peer, DateTime asOf)
    {
        var missed = MissedDays(catalog, peer);
        var whole = catalog.Days(peer).Where(d => d <= asOf && !missed.ContainsKey(d)).DefaultIfEmpty(DateTime.MinValue).Max();
        return missed.Where(m => m.Key > whole && m.Key <= asOf).OrderBy(m => m.Key).Select(m => m.Value).ToList();
    }

    /// <summary>
    /// Collects that were never stored, for Verify: days an item's state changed on (its manifest's "previous") of
    /// which nothing is stored; the next stored day carries their changes, so only a restore as of those days fails.
    /// </summary>
    public static List<ChainGap> UnstoredCollects(StoredCatalog catalog, string peer)
    {
        var days = catalog.Days(peer).ToList();
        var result = new List<ChainGap>();
        for (var i = 1; i < days.Count; i++)
        {
            if (catalog.Manifest(days[i], peer) is not { } manifest) continue;
            foreach (var item in manifest.Items)
                if (ParseDay(item.Previous) is { } previous && previous > days[i - 1] && previous < days[i])
                    result.Add(new ChainGap(previous, BackupTask.Format("Restore.GapUnstored", Day(previous), Day(previous), item.Source, Day(days[i]))));
        }
        return result.DistinctBy(g => g.Text).ToList();
    }

    /// <summary>
    /// Every hole in the chains of a peer's stored days, for Verify: archives a manifest names that no medium holds,
    /// and days an incremental archive builds on that are stored nowhere although the peer has stored days before
    /// them (a chain that reaches back beyond the oldest stored day is old history, not a hole).
    /// </summary>
    public static List<ChainGap> AllGaps(StoredCatalog catalog, string peer)
    {
        var days = catalog.Days(peer).ToList();
        if (days.Count == 0) return new List<ChainGap>();
        var events = Events(catalog, peer, days[^1], null, MissedDays(catalog, peer));
        var gaps = new List<ChainGap>();
        var oldest = days.Where(d => catalog.Manifest(d, peer) != null).DefaultIfEmpty(DateTime.MaxValue).Min();
        foreach (var list in events.Values)
        {
            var stemDays = list.Select(e => e.Day).ToHashSet();
            foreach (var e in list.Where(e => e.Paths != null))
            {
                if (e.Archive != null && catalog.Copies(e.Day, peer, e.Archive).Count == 0)
                    gaps.Add(new ChainGap(e.Day, BackupTask.Format("Restore.GapArchive", Day(e.Day), e.Archive)));
                if (!e.Complete && e.Since is { } since && since >= oldest && !stemDays.Contains(since))
                    gaps.Add(new ChainGap(since, BackupTask.Format("Restore.GapDay", Day(since), e.Path ?? "", Day(e.Day))));
            }
        }
        return gaps.DistinctBy(g => g.Text).OrderBy(g => g.Day).ThenBy(g => g.Text, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Member name (no leading '/') selected by a restore path: "/" selects all, a folder everything below it.
    /// A name that is not UTF-8 is also selected by its displayed form (see <see cref="Forms"/> and <see cref="Given"/>).
    /// </summary>
    public static bool Selected(string member, string restorePath)
    {
        foreach (var given in Given(restorePath))
        {
            var prefix = given.Trim('/');
            if (prefix.Length == 0) return true;
            foreach (var form in Forms(member))
                if (form == prefix || form.StartsWith(prefix + "/", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>The forms a name can be given in: itself and, when it is not UTF-8, its bytes as \xNN (as messages and Find show it).</summary>
    public static IEnumerable<string> Forms(string member)
    {
        yield return member;
        if (Infrastructure.PosixPath.HasEscapes(member)) yield return Infrastructure.PosixPath.Display(member);
    }

    /// <summary>
    /// A path or pattern as the user gave it and, when it holds "/xNN", the same with "\xNN" there: MSBuild on
    /// Linux turns the backslashes of a parameter that looks like a path (its first folder exists) into slashes,
    /// so -p:RestorePath=/srv/d\xe9 reaches the task as "/srv/d/xe9".
    /// </summary>
    public static IEnumerable<string> Given(string text)
    {
        yield return text;
        var back = MangledEscape.Replace(text, @"\x$1");
        if (back != text) yield return back;
    }

    private static readonly System.Text.RegularExpressions.Regex MangledEscape =
        new("/x([0-9a-fA-F]{2})", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
}
