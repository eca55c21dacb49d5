using BackupBuild.Tasks.Collect;

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
    internal sealed record Source(string Stem, IReadOnlyList<ArchiveVersion> NewestFirst, HashSet<string>? Present);

    private sealed record Event(DateTime Day, string? Archive, bool Complete, List<string>? Paths, string? Sha256 = null);

    public static List<Source> AsOf(StoredCatalog catalog, string peer, DateTime asOf, Action<string, object[]> warn)
    {
        var events = new Dictionary<string, List<Event>>(StringComparer.Ordinal);
        void AddEvent(string stem, Event e)
        {
            if (!events.TryGetValue(stem, out var list)) events[stem] = list = new List<Event>();
            list.Add(e);
        }

        foreach (var day in catalog.Days(peer).Where(d => d <= asOf))
        {
            var manifest = catalog.Manifest(day, peer);
            if (manifest != null)
            {
                foreach (var item in manifest.Items)
                {
                    if (item.Archive != null && catalog.Copies(day, peer, item.Archive).Count == 0)
                        warn("Restore.ArchiveMissing", new object[] { item.Archive, day.ToString("yyyy-MM-dd"), peer });
                    AddEvent(item.Stem, new Event(day, item.Archive, item.Complete, item.AllPaths().ToList(), item.Sha256));
                }
            }
            else
            {
                foreach (var name in catalog.Names(day, peer).Where(ArchiveStreams.IsArchiveName))
                    AddEvent(ArchiveStreams.Stem(name), new Event(day, name, false, null));
            }
        }

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
            result.Add(new Source(stem, archives, listing?.Paths is { } p ? new HashSet<string>(p, StringComparer.Ordinal) : null));
        }
        return result;
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
