using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// -t:ProcessRequests on a backup server (cron, every few minutes). For every configured client:
/// takes the requests it pushed into its control repository into its TODO queue (refusing any that
/// name a transfer, folder or file the client is not allowed), acknowledges them on the acks ref,
/// then pulls each request's data: git (a mirror that keeps every ref), rsync (a mirror) or sftp
/// (content-addressed versions, SHA-256 checked before the client's copy is removed). A failed pull
/// stays queued and is tried again on the next run; failures are mailed at once.
/// </summary>
public sealed class ProcessRequests : RequestServerTask
{
    /// <summary>@(BackupRequestSettings): RequestPullTimeoutSeconds. @(BackupProgramSettings): RequestGitProgram, RequestRsyncProgram, RequestSftpProgram.</summary>
    public Microsoft.Build.Framework.ITaskItem? RequestSettings { get; set; }
    public Microsoft.Build.Framework.ITaskItem? ProgramSettings { get; set; }

    private readonly List<string> _failures = new();
    private readonly List<string> _failureKeys = new();

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems);
        var timeout = Settings.RequestSettings.Parse(RequestSettings, problems)?.PullTimeout ?? TimeSpan.Zero;
        var programs = Settings.ProgramSettings.Parse(ProgramSettings, problems, "RequestGitProgram", "RequestRsyncProgram", "RequestSftpProgram");
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        PrivateFiles.CreateRoot(Root);
        using var held = ActionLock.Acquire(Root, "process", LockWait, Cancellation);
        var transfers = new Transfers(timeout, Cancellation, programs!["RequestGitProgram"], programs["RequestRsyncProgram"], programs["RequestSftpProgram"]);
        foreach (var client in ClientList)
        {
            Cancellation.ThrowIfCancellationRequested();
            TakeIn(client);
            Work(client, transfers);
        }
        if (_failures.Count > 0 && MailThrottle.ShouldSend(Path.Combine(Root, "mailed"), _failureKeys, DateTime.UtcNow))
            Notify($"[{Host}] BackupBuild: errors in backup",
                $"ProcessRequests on {Host} at {DateTime.Now:yyyy-MM-dd HH:mm:ss}:\n\n" + string.Join("\n", _failures) +
                "\n\nFailed pulls stay queued and are tried again on the next run.\n");
        return !Log.HasLoggedErrors;
    }

    /// <summary>The control line, server side: new requests into TODO, then the acks ref.</summary>
    private void TakeIn(RequestClientConfig client)
    {
        var todo = Todo(client.Name);
        var seenDir = Path.Combine(todo.Directory, ".seen");
        try
        {
            // The control repository is read and written in-process (LibGit2Sharp, ControlRepository): no git process.
            var repo = client.Repository;
            ControlRepository.EnsureBare(repo);
            Directory.CreateDirectory(seenDir);
            AtomicFile.RemoveLeftovers(todo.Directory);
            AtomicFile.RemoveLeftovers(seenDir);
            var tip = ControlRepository.Resolve(repo, "refs/heads/requests");
            var tree = tip == null ? new Dictionary<string, string>() : ControlRepository.ReadFlatTree(repo, tip);
            var acks = new Dictionary<string, string>(StringComparer.Ordinal);
            var now = DateTime.UtcNow;
            foreach (var (name, text) in tree)
            {
                var seenFile = Path.Combine(seenDir, name);
                if (!RequestRecord.IdPattern.IsMatch(name)) continue;
                if (File.Exists(seenFile))
                {
                    acks[name] = File.ReadAllText(seenFile).Trim();
                    continue;
                }
                var request = RequestRecord.Parse(text, out var why);
                if (request != null && request.Id != name) { request = null; why = "its id does not match its file name"; }
                if (request != null) why = Refusal(client, request);
                var refusal = "Requests.RequestRefused";
                if (request != null && why.Length == 0 && request.Transfer is "rsync" or "git")
                {
                    var (code, text2) = ClaimMirror(client, request);
                    if (code != null) { refusal = code; why = text2!; }
                }
                string status;
                if (why.Length == 0)
                {
                    todo.Add(request!);
                    status = "ok";
                    History(now, client.Name, name, "received", $"{client.Name} asked for {request!.Module} {request.Path} ({request.Transfer})");
                    Progress("Requests.Received", client.Name, request.Module, request.Path, name);
                }
                else
                {
                    status = "refused: " + why;
                    var path = request?.Path ?? "?";
                    Log.LogErrorWithCodeFromResources(refusal, client.Name, name, path, why);
                    _failures.Add($"{client.Name}: refused request {name} ({path}): {why}");
                    _failureKeys.Add($"{client.Name} {name} refused");
                    History(now, client.Name, name, "refused", $"{client.Name}: refused {path}: {why}");
                }
                AtomicFile.WriteAllBytes(seenFile, Encoding.UTF8.GetBytes(status + "\n"));
                acks[name] = status;
            }
            // Ids the client no longer sends were acknowledged and dropped on its side.
            foreach (var seen in Directory.EnumerateFiles(seenDir))
                if (!tree.ContainsKey(Path.GetFileName(seen))) File.Delete(seen);
            var parent = ControlRepository.Resolve(repo, "refs/heads/acks");
            var commit = ControlRepository.CommitFlatTree(repo, new[] { ("acks", Acks.Format(acks)), ("stored", StoredList(client.Name, now)) },
                parent, $"acknowledged by {Host}");
            if (commit != parent) ControlRepository.UpdateRef(repo, "refs/heads/acks", commit);
        }
        catch (GitFailure e)
        {
            Log.LogErrorWithCodeFromResources("Requests.ControlFailed", client.Name, client.Repository, e.Message);
            _failures.Add($"{client.Name}: the control repository {client.Repository} cannot be read: {Sentences.Of(e)}");
            _failureKeys.Add($"{client.Name} control {e.Message}");
        }
    }

    /// <summary>How long a stored sftp version stays in the "stored" acknowledgement the client cleans its outgoing folder by.</summary>
    internal static readonly TimeSpan StoredAckDays = TimeSpan.FromDays(14);

    /// <summary>
    /// The "stored" file of the acks commit: the SHA-256 of every prepared file received from this client in the last
    /// <see cref="StoredAckDays"/> days. A version record is written only after its object was verified and filed, so
    /// the client may remove what this list names (SendRequests: RemoveStored).
    /// </summary>
    private string StoredList(string client, DateTime now)
    {
        var versions = Path.Combine(DataDir(client), "sftp", "versions");
        if (!Directory.Exists(versions)) return "";
        var shas = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(versions, "*.version"))
            if (VersionRecord.Load(file) is { } v && now - v.Received < StoredAckDays) shas.Add(v.Sha256);
        return string.Concat(shas.Select(s => s + "\n"));
    }

    /// <summary>Why a client may not have what it asks for; empty when it may.</summary>
    private static string Refusal(RequestClientConfig client, RequestRecord r)
    {
        var expected = r.Module switch
        {
            "directories" => "rsync", "git" => "git", "wordpress" or "trac" or "wiki" or "databases" => "sftp", _ => null,
        };
        if (expected == null) return $"unknown module \"{r.Module}\"";
        if (r.Transfer != expected) return $"the {r.Module} module is pulled with {expected}, not {r.Transfer}";
        if (r.Module == "databases")
        {
            if (!(r.Path.StartsWith("mysql:", StringComparison.Ordinal) || r.Path.StartsWith("postgresql:", StringComparison.Ordinal)))
                return $"\"{r.Path}\" is not mysql:<database> or postgresql:<database>";
        }
        else if (!StoreFolders.IsPlainPath(r.Path))
            return $"\"{r.Path}\" is not a plain absolute path (it has an empty, \".\" or \"..\" part, a trailing '/' or a control character)";
        else if (!client.Allows(r.Path))
            return $"\"{r.Path}\" is outside the folders this client may back up ({string.Join(", ", client.Folders)})";
        if (r.Transfer == "sftp")
        {
            if (!RequestRecord.ShaPattern.IsMatch(r.Sha256)) return "no valid sha256";
            var rest = r.File.StartsWith(client.Outgoing + "/", StringComparison.Ordinal) ? r.File[(client.Outgoing.Length + 1)..] : null;
            var parts = rest?.Split('/');
            if (parts is not { Length: 2 } || !RequestNames.IsName(parts[0]) || parts[1] != r.Sha256)
                return $"the file \"{r.File}\" is not a prepared file in the client's outgoing folder {client.Outgoing}";
        }
        if (r.Path.Any(c => c is '\n' or '\0' or '"')) return "the path contains a newline or a quote";
        return "";
    }

    private void Work(RequestClientConfig client, Transfers transfers)
    {
        var todo = Todo(client.Name);
        if (!Directory.Exists(todo.Directory)) return;
        foreach (var id in todo.Ids(RequestState.Finished).ToList()) todo.Remove(RequestState.Finished, id);
        // A killed run left these half done: resume them first, then the waiting ones, oldest first.
        var work = todo.Ids(RequestState.Processing).Select(id => (id, RequestState.Processing))
            .Concat(todo.Ids(RequestState.Complete).Select(id => (id, RequestState.Complete))).ToList();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, state) in work)
        {
            Cancellation.ThrowIfCancellationRequested();
            var r = todo.Load(state, id);
            if (r == null)
            {
                Log.LogWarningWithCodeFromResources("Requests.Damaged", todo.PathOf(state, id));
                todo.Move(id, state, RequestState.Finished);
                todo.Remove(RequestState.Finished, id);
                continue;
            }
            if (state == RequestState.Processing) Progress("Requests.Resuming", client.Name, r.Module, r.Path, id);
            else todo.Move(id, RequestState.Complete, RequestState.Processing);
            // A mirror pulled once serves every waiting request for the same source.
            string? why = null;
            if (r.Transfer == "sftp" || done.Add(r.Key))
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                why = Pull(client, r, transfers);
                if (why == null)
                {
                    History(DateTime.UtcNow, client.Name, id, "pulled",
                        $"{client.Name}: pulled {r.Module} {r.Path} with {r.Transfer}" + (r.Transfer == "sftp" ? $" ({Units.Bytes(r.Size)})" : "") +
                        $" in {clock.Elapsed.TotalSeconds:0.0} s");
                }
            }
            if (why == null || _drop)
            {
                if (_drop) History(DateTime.UtcNow, client.Name, id, "refused", $"{client.Name}: refused {r.Path}: {why}");
                _drop = false;
                todo.Move(id, RequestState.Processing, RequestState.Finished);
                todo.Remove(RequestState.Finished, id);
                continue;
            }
            r.Attempts++;
            r.Error = why;
            todo.Update(RequestState.Processing, r);
            todo.Move(id, RequestState.Processing, RequestState.Complete);
            done.Remove(r.Key);
            Log.LogErrorWithCodeFromResources("Requests.PullFailed", client.Name, r.Module, r.Path, r.Transfer, why, r.Attempts);
            _failures.Add($"{client.Name}: {r.Module} {r.Path} ({r.Transfer}) failed (attempt {r.Attempts}): {why}");
            _failureKeys.Add($"{client.Name} {id} {why}");
            History(DateTime.UtcNow, client.Name, id + "." + r.Attempts.ToString(CultureInfo.InvariantCulture), "failed",
                $"{client.Name}: {r.Module} {r.Path} failed: {why}");
        }
    }

    /// <summary>
    /// Claims the mirror folder a git or rsync request is pulled into (see <see cref="MirrorRoots"/>): the first
    /// request for a path claims it; a path inside another claimed one, or holding one, is refused (BKP7061), and
    /// so is one whose folder in the store already has a symlink or a non-folder on its way (BKP7062). A mirror
    /// made before links were munged has its old links munged when it is claimed. (null, null) when it may be pulled.
    /// </summary>
    private (string? Code, string? Why) ClaimMirror(RequestClientConfig client, RequestRecord r)
    {
        var data = "data/" + client.Name;
        if (!StoreFolders.IsPlainPath(r.Path)) return ("Requests.RequestRefused", $"\"{r.Path}\" is not a plain absolute path");
        var unsafePath = StoreFolders.Ensure(Root, data);
        if (unsafePath != null) return ("Requests.UnsafeStorePath", unsafePath);
        var roots = new MirrorRoots(DataDir(client.Name), r.Transfer);
        if (roots.Has(r.Path)) return (null, null);
        var conflict = roots.Conflict(r.Path);
        if (conflict != null) return ("Requests.MirrorsOverlap", $"its {r.Transfer} mirror would overlap the mirror of \"{conflict}\"");
        unsafePath = StoreFolders.Ensure(Root, data + "/" + r.Transfer + r.Path, create: false);
        if (unsafePath != null) return ("Requests.UnsafeStorePath", unsafePath);
        var mirror = MirrorPath(client, r);
        if (r.Transfer == "rsync" && Posix.LStat(mirror, out _) is { IsDirectory: true })
        {
            var munged = StoreFolders.MungeOldLinks(mirror);
            if (munged > 0) Progress("Requests.LinksMunged", client.Name, r.Path, munged);
        }
        roots.Add(r.Path);
        return (null, null);
    }

    private string MirrorPath(RequestClientConfig client, RequestRecord r) =>
        Path.Combine(DataDir(client.Name), r.Transfer) + (r.Path == "/" ? "" : r.Path);

    /// <summary>Set by <see cref="Pull"/> when a request can never be pulled: it is dropped instead of tried again.</summary>
    private bool _drop;

    private string? Pull(RequestClientConfig client, RequestRecord r, Transfers transfers)
    {
        var data = DataDir(client.Name);
        if (r.Transfer is "rsync" or "git")
        {
            // Requests taken in before mirrors were claimed are checked here as well.
            var (code, why) = ClaimMirror(client, r);
            if (code == "Requests.MirrorsOverlap" || code == "Requests.RequestRefused")
            {
                Log.LogErrorWithCodeFromResources(code, client.Name, r.Id, r.Path, why!);
                _drop = true;
                return why;
            }
            if (code == null)
                why = StoreFolders.Ensure(Root, "data/" + client.Name + "/" + r.Transfer + (r.Path == "/" ? "" : r.Path));
            if (why != null)
            {
                Log.LogErrorWithCodeFromResources("Requests.UnsafeStorePath", client.Name, r.Id, r.Path, why);
                return why;
            }
        }
        switch (r.Transfer)
        {
            case "rsync":
            {
                if (Posix.LStat(StoreFolders.MungePrefix.TrimEnd('/'), out _) != null)
                {
                    Log.LogErrorWithCodeFromResources("Requests.MungePrefixExists", StoreFolders.MungePrefix.TrimEnd('/'), client.Name, r.Path);
                    return Format("Requests.MungePrefixExists", StoreFolders.MungePrefix.TrimEnd('/'), client.Name, r.Path);
                }
                var mirror = MirrorPath(client, r);
                // Each pull's changed and deleted files go to rsync-versions/<time><path>/ (docs/request-queue.md, "Versions").
                var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
                var versionsRelative = "data/" + client.Name + "/rsync-versions/" + stamp + (r.Path == "/" ? "" : r.Path);
                var unsafeVersions = StoreFolders.Ensure(Root, versionsRelative);
                if (unsafeVersions != null)
                {
                    Log.LogErrorWithCodeFromResources("Requests.UnsafeStorePath", client.Name, r.Id, r.Path, unsafeVersions);
                    return unsafeVersions;
                }
                var versions = Path.Combine(Root, versionsRelative);
                string? why;
                try
                {
                    MirrorVersions.Before(mirror, versions);
                    why = transfers.PullRsync(client, r.Path, mirror);
                    MirrorVersions.After(mirror, versions);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    why = e.Message;
                }
                RemoveEmptyVersion(versions, Path.Combine(DataDir(client.Name), "rsync-versions"));
                if (why == null) Progress("Requests.Mirrored", client.Name, r.Path, mirror);
                return why;
            }
            case "git":
            {
                var mirror = MirrorPath(client, r);
                var why = transfers.PullGit(client, r.Path, mirror, DateTime.UtcNow,
                    (refName, old, attic) => Log.LogWarningWithCodeFromResources("Requests.RefRewound", client.Name, r.Path, refName, old[..12], attic));
                if (why == null) Progress("Requests.GitMirrored", client.Name, r.Path, mirror);
                return why;
            }
            default:
                return PullSftp(client, r, transfers, Path.Combine(data, "sftp"));
        }
    }

    /// <summary>
    /// sftp: download into incomplete/, check the SHA-256 named in the request, file the object under
    /// objects/&lt;sha256&gt; (once per content), record the version, and only then remove the client's copy.
    /// </summary>
    private string? PullSftp(RequestClientConfig client, RequestRecord r, Transfers transfers, string store)
    {
        var objects = Path.Combine(store, "objects");
        var incomplete = Path.Combine(store, "incomplete");
        foreach (var folder in new[] { "objects", "incomplete", "versions" })
        {
            var unsafePath = StoreFolders.Ensure(Root, $"data/{client.Name}/sftp/{folder}");
            if (unsafePath == null) continue;
            Log.LogErrorWithCodeFromResources("Requests.UnsafeStorePath", client.Name, r.Id, r.Path, unsafePath);
            return unsafePath;
        }
        var obj = Path.Combine(objects, r.Sha256);
        var haveObject = File.Exists(obj) && FileHash.Sha256(obj) == r.Sha256;
        if (!haveObject)
        {
            var part = Path.Combine(incomplete, r.Sha256);
            if (File.Exists(part)) File.Delete(part);
            var why = transfers.SftpGet(client, r.File, part);
            if (why != null) { Delete(part); return why; }
            var actual = File.Exists(part) ? FileHash.Sha256(part) : "nothing";
            if (actual != r.Sha256)
            {
                Delete(part);
                return Format("Requests.ChecksumMismatch", r.File, actual, r.Sha256);
            }
            using (var f = new FileStream(part, FileMode.Open, FileAccess.ReadWrite)) f.Flush(flushToDisk: true);
            File.Move(part, obj, overwrite: true);
        }
        var version = VersionRecord.From(client.Name, r, DateTime.UtcNow);
        version.Save(Path.Combine(store, "versions", r.Id + ".version"));
        Progress("Requests.Stored", client.Name, r.Module, r.Path, r.Sha256[..12], haveObject ? Format("Requests.AlreadyStored") : Units.Bytes(r.Size));
        // Only now, with our copy verified and filed, may the client's copy go.
        var removal = transfers.SftpRemove(client, r.File);
        if (removal != null && !removal.Contains("No such file", StringComparison.OrdinalIgnoreCase))
            Log.LogWarningWithCodeFromResources("Requests.ClientCopyKept", client.Name, r.File, removal);
        return null;
    }

    /// <summary>A pull that changed and deleted nothing leaves no version: its empty folders go, up to (not including) the versions folder.</summary>
    private static void RemoveEmptyVersion(string folder, string top)
    {
        try
        {
            for (var dir = folder.TrimEnd('/'); dir.Length > top.Length && dir.StartsWith(top + "/", StringComparison.Ordinal); dir = Path.GetDirectoryName(dir)!)
            {
                if (Posix.LStat(dir, out _) is not { IsDirectory: true } || Directory.EnumerateFileSystemEntries(dir).Any()) return;
                Directory.Delete(dir);
            }
        }
        catch (IOException) { }
    }

    private static void Delete(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
    }
}
