using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// The Find action: every stored version of the paths that match a pattern, with its day, peer, size and
/// every place it is stored. A pattern with a '/' matches whole absolute paths ('*' within a folder name,
/// '**' across folders, '?' one character); without one it matches file names.
/// </summary>
public sealed class FindFiles : StoredDataTask
{
    public string? Pattern { get; set; }
    /// <summary>Only this peer; empty: every peer.</summary>
    public string? Peer { get; set; }
    /// <summary>Empty: every stored version. A day: only the version of each path that Restore gives as of that day.</summary>
    public string? AsOf { get; set; }

    /// <summary>One item per version: the path, with Peer, Day, Size, Kind, Archive and Locations.</summary>
    [Output] public ITaskItem[] Versions { get; private set; } = Array.Empty<ITaskItem>();

    private protected override bool Decrypts => true;

    protected override bool Run()
    {
        var problems = new Problems();
        var media = Media(problems);
        if (string.IsNullOrWhiteSpace(Pattern)) problems.Error("Find.NoPattern");
        var asOf = Date(AsOf, "FindDate", problems);
        Decryption = Settings.RestoreSettings.ParseGpg(RestoreSettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || Decryption == null) return false;

        var pattern = Pattern!.Trim();
        var regexes = RestoreTimeline.Given(pattern).Select(Glob).ToList();
        var byName = !pattern.Contains('/');
        using var catalog = Catalog(media!);
        if (catalog == null) return false;
        var peers = string.IsNullOrWhiteSpace(Peer) ? catalog.Peers.ToList() : new List<string> { Peer.Trim() };
        var found = new List<ITaskItem>();
        foreach (var peer in peers)
        {
            // Every archive of the peer, or (as of a day) the ones Restore would read, newest first, with the paths present.
            var archives = asOf == null
                ? catalog.Days(peer).SelectMany(day => catalog.Names(day, peer).Where(ArchiveStreams.IsArchiveName).Order(StringComparer.Ordinal)
                    .Select(name => (Archive: new ArchiveVersion(day, peer, name, catalog.Copies(day, peer, name)), Present: (HashSet<string>?)null))).ToList()
                : RestoreTimeline.AsOf(catalog, peer, asOf.Value, (n, a) => Log.LogWarningWithCodeFromResources(n, a))
                    .SelectMany(src => src.NewestFirst.Select(a => (Archive: a, src.Present))).ToList();
            // Earlier uploads of a day to S3 that a later one overwrote: the archive versions that only they hold (read
            // from the archive: the day's manifest is the later upload's).
            var older = new HashSet<ArchiveVersion>(ReferenceEqualityComparer.Instance);
            if (asOf == null)
            {
                var listed = archives.SelectMany(a => a.Archive.Copies).Select(c => c.Location).ToHashSet(StringComparer.Ordinal);
                var earlier = catalog.OlderS3Uploads.Where(u => u.Peer == peer)
                    .SelectMany(u => u.Files.Where(f => ArchiveStreams.IsArchiveName(f.Key) && !listed.Contains(f.Value.Location)).OrderBy(f => f.Key, StringComparer.Ordinal)
                        .Select(f => (Archive: new ArchiveVersion(u.Day, peer, f.Key, new[] { f.Value }), Present: (HashSet<string>?)null))).ToList();
                older.UnionWith(earlier.Select(e => e.Archive));
                archives.AddRange(earlier);
                archives.Sort((a, b) => a.Archive.Day.CompareTo(b.Archive.Day));
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (archive, present) in archives)
            {
                var copies = archive.Copies;
                // An S3 copy shows its upload time: the value RestoreS3Version and FindS3Version take.
                var locations = string.Join(", ", copies.Select(c => c.Uploaded is { } u && c.Location.StartsWith("s3://", StringComparison.Ordinal)
                    ? $"{c.Location} (uploaded {u.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)})" : c.Location));
                void Member(string name, long size, string kind)
                {
                    var member = name.TrimStart('/');
                    var full = "/" + member;
                    var subject = byName ? full[(full.LastIndexOf('/') + 1)..] : full;
                    // A name that is not UTF-8 matches as it is or as shown (its odd bytes as \xNN), and is listed as shown.
                    if (!RestoreTimeline.Forms(subject).Any(f => regexes.Any(r => r.IsMatch(f)))) return;
                    if (asOf != null && ((present != null && !present.Contains(member)) || !seen.Add(member))) return;
                    full = PosixPath.Display(full);
                    var item = new TaskItem(full);
                    item.SetMetadata("Peer", peer);
                    item.SetMetadata("Day", Day(archive.Day));
                    item.SetMetadata("Size", size.ToString());
                    item.SetMetadata("Kind", kind);
                    item.SetMetadata("Archive", archive.Name);
                    item.SetMetadata("Locations", locations);
                    found.Add(item);
                    Progress("Find.Version", Day(archive.Day), peer, size, full, locations);
                }

                // What the archive holds, from the day's manifest when Collect listed it there: the archive is not read.
                if (!older.Contains(archive) && Listed(catalog, archive) is { } listed)
                {
                    foreach (var m in listed) Member(m.Name, m.Size, m.Symlink ? "symlink" : "file");
                    continue;
                }
                try
                {
                    using var raw = copies[0].Open();
                    using var tar = ArchiveStreams.OpenTar(raw);
                    var reader = new TarReader(tar);
                    while (reader.Next() is { } m)
                    {
                        Cancellation.ThrowIfCancellationRequested();
                        if (m.Kind == TarMemberKind.Directory) continue;
                        Member(m.Name, m.Size, m.Kind.ToString().ToLowerInvariant());
                    }
                }
                catch (Exception e) when (StoredCatalog.IsReadFailure(e))
                {
                    Log.LogErrorWithCodeFromResources("Restore.ArchiveUnreadable", copies[0].Location, e.Message);
                }
            }
            // Module outputs (database dumps and the like) match by their file name, one line per stored day.
            if (byName)
                foreach (var day in catalog.Days(peer).Where(d => asOf == null || d <= asOf).Reverse())
                foreach (var name in catalog.ModuleOutputs(day, peer).Where(n => regexes.Any(r => r.IsMatch(n))))
                {
                    if (asOf != null && !seen.Add("\0module\0" + name)) continue;
                    var copies = catalog.Copies(day, peer, name);
                    var locations = string.Join(", ", copies.Select(c => c.Location));
                    var item = new TaskItem(name);
                    item.SetMetadata("Peer", peer);
                    item.SetMetadata("Day", Day(day));
                    item.SetMetadata("Size", copies[0].Size.ToString());
                    item.SetMetadata("Kind", "module output");
                    item.SetMetadata("Archive", "");
                    item.SetMetadata("Locations", locations);
                    found.Add(item);
                    Progress("Find.ModuleOutput", Day(day), peer, copies[0].Size, name, locations);
                }
            foreach (var (day, path, lastSeen) in Deletions(catalog, peer, asOf, subject => regexes.Any(r => RestoreTimeline.Forms(subject).Any(r.IsMatch)), byName))
            {
                var shown = PosixPath.Display("/" + path);
                var item = new TaskItem(shown);
                item.SetMetadata("Peer", peer);
                item.SetMetadata("Day", Day(day));
                item.SetMetadata("Size", "0");
                item.SetMetadata("Kind", "deleted");
                item.SetMetadata("Archive", "");
                item.SetMetadata("Locations", "");
                item.SetMetadata("LastSeen", Day(lastSeen));
                found.Add(item);
                Progress("Find.Deleted", Day(day), peer, shown, Day(lastSeen));
            }
        }
        Versions = found.ToArray();
        Progress("Find.Summary", found.Count, pattern, string.Join(", ", catalog.Media));
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// When matching paths were deleted on the peer: for each source, a path its manifest listed on one stored day and
    /// no longer lists on the next day with a manifest (the day it was found gone, and the last day it was listed).
    /// As of a day, only the deletions still in effect then (the path is not listed as of that day).
    /// </summary>
    private static List<(DateTime Day, string Path, DateTime LastSeen)> Deletions(StoredCatalog catalog, string peer, DateTime? asOf,
        Func<string, bool> matches, bool byName)
    {
        bool Matches(string member)
        {
            var full = "/" + member;
            return matches(byName ? full[(full.LastIndexOf('/') + 1)..] : full);
        }
        var previous = new Dictionary<string, (DateTime Day, HashSet<string> Paths)>(StringComparer.Ordinal);
        var deletions = new List<(string Stem, DateTime Day, string Path, DateTime LastSeen)>();
        foreach (var day in catalog.Days(peer).Where(d => asOf == null || d <= asOf))
        {
            if (catalog.Manifest(day, peer) is not { } manifest) continue;
            foreach (var item in manifest.Items)
            {
                var now = item.AllPaths().Where(Matches).ToHashSet(StringComparer.Ordinal);
                if (previous.TryGetValue(item.Stem, out var before))
                    deletions.AddRange(before.Paths.Where(p => !now.Contains(p)).Select(p => (item.Stem, day, p, before.Day)));
                previous[item.Stem] = (day, now);
            }
        }
        if (asOf != null)
            // As of the day: the last deletion of each path that is still gone then.
            deletions = deletions.Where(d => !previous[d.Stem].Paths.Contains(d.Path))
                .GroupBy(d => (d.Stem, d.Path)).Select(g => g.MaxBy(d => d.Day)).ToList();
        return deletions.Select(d => (d.Day, d.Path, d.LastSeen)).OrderBy(d => d.Path, StringComparer.Ordinal).ThenBy(d => d.Day).ToList();
    }

    internal static Regex Glob(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
