using System.Globalization;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// -t:Browse (the seed's bkdb): lists a client's stored sftp versions, newest last per source, marking
/// the ones whose content changed from the version before; verifies them (SHA-256 of each object);
/// exports versions into a folder; removes versions by hand or by a retention policy (keep the last N,
/// keep N days), then removes the objects no version uses any more.
/// </summary>
public sealed class BrowseVersions : RequestServerTask
{
    [Required] public string Client { get; set; } = "";
    /// <summary>
    /// @(BackupBrowseSettings) (Settings/BrowseSettings): BrowseCommand (list, verify, export, remove or prune),
    /// BrowseKeepLast, BrowseKeepDays (prune's retention), BrowseDryRun.
    /// </summary>
    public ITaskItem? BrowseSettings { get; set; }
    /// <summary>Only sources whose path contains this text, or matches it when it has * or ?.</summary>
    public string? PathFilter { get; set; }
    public string? From { get; set; }
    public string? To { get; set; }
    /// <summary>Version ids (semicolon-separated) for export and remove.</summary>
    public string? Versions { get; set; }
    public string? ExportDir { get; set; }

    [Output] public ITaskItem[] Selected { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems, clientsRequired: false);
        var settings = Settings.BrowseSettings.Parse(BrowseSettings, problems);
        var (command, keepLast, keepDays, dryRun) = settings is { } s ? (s.Command, s.KeepLast, s.KeepDays, s.DryRun) : ("", 0, 0, false);
        var client = Client.Trim();
        if (!RequestNames.IsName(client)) problems.Error("Requests.BadName", "BrowseClient", Client);
        var from = Date(From, "BrowseFrom", problems, DateTime.MinValue);
        var to = Date(To, "BrowseTo", problems, DateTime.MaxValue);
        var ids = Values.List(Versions);
        var clock = Settings.RunSettings.Parse(RunSettings, problems)?.Clock;
        string? exportDir = null;
        if (command == "export") exportDir = Values.AbsolutePath(ExportDir, "BrowseExportDir", problems);
        if (command == "remove" && ids.Length == 0 && string.IsNullOrWhiteSpace(PathFilter) && string.IsNullOrWhiteSpace(From) && string.IsNullOrWhiteSpace(To))
            problems.Error("Browse.RemoveNeedsSelection");
        problems.LogTo(Log);
        if (problems.HasErrors || clock == null || settings == null) return false;

        var store = Path.Combine(DataDir(client), "sftp");
        var versionsDir = Path.Combine(store, "versions");
        var rsyncRoots = new MirrorRoots(DataDir(client), "rsync").Roots;
        var gitRoots = new MirrorRoots(DataDir(client), "git").Roots;
        if (!Directory.Exists(versionsDir))
        {
            // A client with only directories and git modules has mirrors and no sftp versions.
            if (rsyncRoots.Count + gitRoots.Count == 0)
            {
                Log.LogErrorWithCodeFromResources("Browse.NoVersions", client, versionsDir);
                return false;
            }
            if (command == "list") ListMirrors(client, rsyncRoots, gitRoots, PathMatcher(PathFilter), from, to);
            else if (command == "verify") VerifyGitMirrors(client, gitRoots, PathMatcher(PathFilter));
            else Progress("Browse.MirrorsOnly", client, command);
            return !Log.HasLoggedErrors;
        }
        using var held = command is "remove" or "prune" ? ActionLock.Acquire(Root, "process", LockWait, Cancellation) : null;
        var all = Directory.EnumerateFiles(versionsDir, "*.version").Select(f => (File: f, Version: VersionRecord.Load(f)))
            .Where(v => v.Version != null).Select(v => (v.File, Version: v.Version!))
            .OrderBy(v => v.Version.Path, StringComparer.Ordinal).ThenBy(v => v.Version.Received).ThenBy(v => v.Version.Id, StringComparer.Ordinal).ToList();
        var pathMatch = PathMatcher(PathFilter);
        bool Chosen(VersionRecord v) =>
            pathMatch(v.Path) && v.Received.ToLocalTime() >= from && v.Received.ToLocalTime() <= to && (ids.Length == 0 || ids.Contains(v.Id));
        var selected = all.Where(v => Chosen(v.Version)).ToList();
        Selected = selected.Select(v =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(v.Version.Id);
            item.SetMetadata("Path", v.Version.Path);
            item.SetMetadata("Sha256", v.Version.Sha256);
            return (ITaskItem)item;
        }).ToArray();

        switch (command)
        {
            case "list":
                List(client, all, selected.Select(s => s.Version.Id).ToHashSet());
                ListMirrors(client, rsyncRoots, gitRoots, pathMatch, from, to);
                break;
            case "verify":
                Verify(store, selected.Select(s => s.Version));
                VerifyGitMirrors(client, gitRoots, pathMatch);
                break;
            case "export": Export(store, exportDir!, selected.Select(s => s.Version)); break;
            case "remove": Remove(store, selected, dryRun); break;
            case "prune":
                var cutoff = keepDays > 0 ? clock.Now.AddDays(-keepDays) : DateTime.MaxValue;
                var doomed = new List<(string File, VersionRecord Version)>();
                foreach (var group in selected.GroupBy(v => v.Version.Path))
                {
                    var ordered = group.OrderByDescending(v => v.Version.Received).ToList();
                    for (var i = 0; i < ordered.Count; i++)
                    {
                        var keptByCount = keepLast > 0 && i < keepLast;
                        var keptByAge = keepDays > 0 && ordered[i].Version.Received.ToLocalTime() >= cutoff;
                        if (!keptByCount && !keptByAge) doomed.Add(ordered[i]);
                    }
                }
                Remove(store, doomed, dryRun);
                break;
        }
        return !Log.HasLoggedErrors;
    }

    private void List(string client, List<(string File, VersionRecord Version)> all, HashSet<string> selected)
    {
        var shown = 0;
        foreach (var group in all.GroupBy(v => v.Version.Path))
        {
            string? previous = null;
            var lines = new List<string>();
            foreach (var (_, v) in group)
            {
                var changed = previous == null ? "first" : previous == v.Sha256 ? "same" : "changed";
                previous = v.Sha256;
                if (!selected.Contains(v.Id)) continue;
                lines.Add($"    {v.Received.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {changed,-7}  {Units.Bytes(v.Size),10}  {v.Sha256[..12]}  {v.Id}");
            }
            if (lines.Count == 0) continue;
            Log.LogMessage(MessageImportance.High, $"  {group.Key} ({group.First().Version.Module})");
            foreach (var l in lines) Log.LogMessage(MessageImportance.High, l);
            shown += lines.Count;
        }
        Progress("Browse.Listed", shown, client);
    }

    /// <summary>
    /// The directories module's mirrors with their versions (rsync-versions/&lt;time&gt;&lt;path&gt;/: the files that pull
    /// changed or deleted, as they were before it) and the git mirrors (their history is in the repository).
    /// </summary>
    private void ListMirrors(string client, IReadOnlyList<string> rsyncRoots, IReadOnlyList<string> gitRoots, Func<string, bool> pathMatch,
        DateTime from, DateTime to)
    {
        var versionsTop = Path.Combine(DataDir(client), "rsync-versions");
        var stamps = Posix.LStat(versionsTop, out _) is { IsDirectory: true }
            ? Directory.EnumerateDirectories(versionsTop).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()
            : new List<string?>();
        var shown = 0;
        foreach (var root in rsyncRoots.Where(pathMatch))
        {
            Log.LogMessage(MessageImportance.High, $"  {root} (directories, rsync mirror \"{Path.Combine(DataDir(client), "rsync") + (root == "/" ? "" : root)}\")");
            foreach (var stamp in stamps)
            {
                if (!DateTime.TryParseExact(stamp, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                        DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when)) continue;
                if (when.ToLocalTime() < from || when.ToLocalTime() > to) continue;
                var folder = Path.Combine(versionsTop, stamp!) + (root == "/" ? "" : root);
                if (Posix.LStat(folder, out _) is not { IsDirectory: true }) continue;
                var files = Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).ToList();
                var bytes = files.Sum(f => new FileInfo(f).Length);
                Log.LogMessage(MessageImportance.High,
                    $"    {when.ToLocalTime():yyyy-MM-dd HH:mm:ss}  before this pull: {files.Count} file(s) changed or deleted, {Units.Bytes(bytes)}, in \"{folder}\"");
                shown++;
            }
        }
        foreach (var root in gitRoots.Where(pathMatch))
            Log.LogMessage(MessageImportance.High, $"  {root} (git mirror \"{Path.Combine(DataDir(client), "git") + root}\": every ref ever fetched, rewound ones under refs/attic/)");
        Progress("Browse.MirrorsListed", rsyncRoots.Count, shown, gitRoots.Count, client);
    }

    private void Verify(string store, IEnumerable<VersionRecord> versions)
    {
        int good = 0, bad = 0;
        var checkedObjects = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in versions)
        {
            Cancellation.ThrowIfCancellationRequested();
            var obj = Path.Combine(store, "objects", v.Sha256);
            if (!checkedObjects.TryGetValue(v.Sha256, out var actual))
                checkedObjects[v.Sha256] = actual = File.Exists(obj) ? FileHash.Sha256(obj) : "missing";
            if (actual == v.Sha256) good++;
            else
            {
                bad++;
                Log.LogErrorWithCodeFromResources("Browse.Corrupted", v.Id, v.Path, obj, actual);
            }
        }
        Progress("Browse.Verified", good, bad);
    }

    /// <summary>
    /// Reads every object of each git mirror in-process (LibGit2Sharp): libgit2 inflates each one and checks that it
    /// hashes to its id, and every object a ref, commit, tree or tag needs must be there. A damaged or missing object is
    /// an error naming the mirror and the object (BKP7220); a mirror reached through a link, with a link inside, or that
    /// cannot be opened is not read (BKP7221). The mirror is only read: nothing in it is changed.
    /// </summary>
    private void VerifyGitMirrors(string client, IReadOnlyList<string> gitRoots, Func<string, bool> pathMatch)
    {
        int good = 0, bad = 0;
        foreach (var root in gitRoots.Where(pathMatch))
        {
            Cancellation.ThrowIfCancellationRequested();
            var mirror = Path.Combine(DataDir(client), "git") + root;
            var unsafePath = !StoreFolders.IsPlainPath(root) ? $"\"{root}\" is not a plain absolute path"
                : StoreFolders.Ensure(Root, $"data/{client}/git" + (root == "/" ? "" : root), create: false)
                  ?? (Posix.LStat(mirror, out _) is { IsDirectory: true } ? null : $"\"{mirror}\" does not exist");
            if (unsafePath != null)
            {
                Log.LogErrorWithCodeFromResources("Browse.GitMirrorUnreadable", mirror, client, root, unsafePath);
                bad++;
                continue;
            }
            try
            {
                using var repo = LocalGit.Open(mirror);
                var check = LocalGit.ReadEveryObject(repo, Cancellation);
                foreach (var f in check.Findings)
                    Log.LogErrorWithCodeFromResources("Browse.GitMirrorDamaged", mirror, client, root, f.Object, f.Kind, f.Detail);
                Progress("Browse.GitMirrorRead", mirror, check.Objects, check.Refs, check.Findings.Count + check.MoreFindings);
                if (check.Findings.Count == 0) good++;
                else bad++;
            }
            catch (LocalGitError e)
            {
                Log.LogErrorWithCodeFromResources("Browse.GitMirrorUnreadable", mirror, client, root, e.Message);
                bad++;
            }
        }
        Progress("Browse.GitMirrorsVerified", good, bad);
    }

    private void Export(string store, string exportDir, IEnumerable<VersionRecord> versions)
    {
        Directory.CreateDirectory(exportDir);
        foreach (var v in versions)
        {
            var obj = Path.Combine(store, "objects", v.Sha256);
            var actual = File.Exists(obj) ? FileHash.Sha256(obj) : "missing";
            if (actual != v.Sha256)
            {
                Log.LogErrorWithCodeFromResources("Browse.Corrupted", v.Id, v.Path, obj, actual);
                continue;
            }
            var name = $"{v.Module}-{NormalizedPath.From(v.Path.Replace(':', '/'))}-{v.Received.ToLocalTime():yyyyMMdd-HHmmss}.tar.gz";
            var target = Path.Combine(exportDir, name);
            AtomicFile.Write(target, s => { using var src = File.OpenRead(obj); src.CopyTo(s); });
            File.SetLastWriteTimeUtc(target, v.Received);
            Progress("Browse.Exported", v.Id, v.Path, target);
        }
    }

    private void Remove(string store, List<(string File, VersionRecord Version)> doomed, bool dryRun)
    {
        foreach (var (file, v) in doomed)
        {
            Progress(dryRun ? "Browse.WouldRemove" : "Browse.Removed", v.Id, v.Path, v.Received.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            if (!dryRun) File.Delete(file);
        }
        if (dryRun) return;
        // Objects no remaining version uses.
        var used = Directory.EnumerateFiles(Path.Combine(store, "versions"), "*.version").Select(VersionRecord.Load)
            .Where(v => v != null).Select(v => v!.Sha256).ToHashSet(StringComparer.Ordinal);
        long freed = 0;
        var removed = 0;
        foreach (var obj in Directory.EnumerateFiles(Path.Combine(store, "objects")))
        {
            if (used.Contains(Path.GetFileName(obj))) continue;
            freed += new FileInfo(obj).Length;
            File.Delete(obj);
            removed++;
        }
        Progress("Browse.Collected", doomed.Count, removed, Units.Bytes(freed));
    }

    private static Func<string, bool> PathMatcher(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter)) return _ => true;
        var f = filter.Trim();
        if (!f.Contains('*') && !f.Contains('?')) return p => p.Contains(f, StringComparison.Ordinal);
        var regex = new Regex("^" + Regex.Escape(f).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.CultureInvariant);
        return p => regex.IsMatch(p);
    }

    private static DateTime Date(string? value, string name, Problems problems, DateTime fallback)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        string[] formats = { "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss" };
        if (DateTime.TryParseExact(value.Trim(), formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var d))
            return value.Trim().Length == 10 && fallback == DateTime.MaxValue ? d.AddDays(1).AddTicks(-1) : d;
        problems.Error("Browse.BadDate", name, value);
        return fallback;
    }
}
