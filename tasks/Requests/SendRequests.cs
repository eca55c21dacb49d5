using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// First half of -t:SendRequests: takes the send lock (held until the build ends), repairs what a
/// killed run left (i files are dropped with a warning, F files removed, temporary files cleared),
/// moves every waiting request C→P, and lists the P requests whose data still has to be prepared
/// (dumps of sites and databases), so the module dump tasks can write them into their PrepareDir.
/// </summary>
public sealed class BeginSendRequests : RequestClientTask
{
    internal const string LockKey = "BackupBuild.Requests.SendLock";

    [Output] public ITaskItem[] Prepare { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems);
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        PrivateFiles.CreateRoot(Root);
        var held = ActionLock.Acquire(Root, "send", LockWait, Cancellation);
        BuildEngine4.RegisterTaskObject(LockKey + Root, held, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);

        var prepare = new List<ITaskItem>();
        foreach (var server in ServerList)
        {
            var pool = Pool(server.Name);
            if (!Directory.Exists(pool.Directory)) continue;
            AtomicFile.RemoveLeftovers(pool.Directory);
            foreach (var (state, id) in pool.List().ToList())
            {
                switch (state)
                {
                    case RequestState.Incomplete:
                        // Only a killed -t:Request leaves one; the queue lock tells a live writer apart.
                        if (QueueIsIdle(pool))
                        {
                            Log.LogWarningWithCodeFromResources("Requests.IncompleteDropped", pool.PathOf(state, id), server.Name);
                            pool.Remove(state, id);
                        }
                        break;
                    case RequestState.Finished:
                        pool.Remove(state, id);
                        break;
                    case RequestState.Complete:
                        pool.Move(id, RequestState.Complete, RequestState.Processing);
                        break;
                }
            }
            foreach (var id in pool.Ids(RequestState.Processing))
            {
                var r = pool.Load(RequestState.Processing, id);
                if (r == null)
                {
                    Log.LogWarningWithCodeFromResources("Requests.Damaged", pool.PathOf(RequestState.Processing, id));
                    pool.Move(id, RequestState.Processing, RequestState.Finished);
                    continue;
                }
                if (r.Prepared || r.Module is not ("wordpress" or "trac" or "wiki" or "databases")) continue;
                var dir = PrepareDir(id);
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                Directory.CreateDirectory(dir);
                var kind = r.Module;
                var spec = r.Path;
                if (r.Module == "databases")
                {
                    var colon = r.Path.IndexOf(':');
                    kind = r.Path[..colon];
                    spec = r.Path[(colon + 1)..];
                }
                var item = new TaskItem(spec);
                item.SetMetadata("Kind", kind);
                item.SetMetadata("PrepareDir", dir + "/");
                item.SetMetadata("RequestId", id);
                item.SetMetadata("Server", server.Name);
                prepare.Add(item);
            }
        }
        Prepare = prepare.ToArray();
        return true;
    }

    private bool QueueIsIdle(RequestQueue pool)
    {
        try
        {
            using var l = ActionLock.Acquire(pool.Directory, "queue", TimeSpan.Zero, Cancellation);
            return true;
        }
        catch (CodedError) { return false; }
    }
}

/// <summary>
/// Second half of -t:SendRequests: archives what was prepared for sftp requests into the outgoing
/// folder, then, per server, commits every pending (P) request into the local control repository and
/// pushes it to the server's repository for this client. The push is checked by reading the server's
/// ref back (git's exit status alone is not trusted: the seed's known problem). A request becomes F
/// only when the server's acks ref lists it; until then it is sent again on every run. Failures are
/// errors with the server's name and are mailed to the administrators.
/// </summary>
public sealed class SendRequests : RequestClientTask
{
    /// <summary>@(BackupRequestSettings): RequestSendTimeoutSeconds. @(BackupProgramSettings): RequestGitProgram.</summary>
    public ITaskItem? RequestSettings { get; set; }
    public ITaskItem? ProgramSettings { get; set; }

    [Output] public ITaskItem[] Acknowledged { get; private set; } = Array.Empty<ITaskItem>();

    private string _git = "";

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems);
        var timeout = Settings.RequestSettings.Parse(RequestSettings, problems)?.SendTimeout ?? TimeSpan.Zero;
        _git = Settings.ProgramSettings.Parse(ProgramSettings, problems, "RequestGitProgram")?["RequestGitProgram"] ?? "";
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        ActionLock? ownLock = null;
        if (BuildEngine4.GetRegisteredTaskObject(BeginSendRequests.LockKey + Root, RegisteredTaskObjectLifetime.Build) == null)
            ownLock = ActionLock.Acquire(Root, "send", LockWait, Cancellation);
        try
        {
            var acknowledged = new List<ITaskItem>();
            var failures = new List<string>();
            foreach (var server in ServerList)
                SendTo(server, timeout, acknowledged, failures);
            Acknowledged = acknowledged.ToArray();
            if (failures.Count > 0 && MailThrottle.ShouldSend(Path.Combine(Root, "mailed"), failures, DateTime.UtcNow))
                Notify($"[{Client}] BackupBuild: errors in sending backup requests",
                    $"SendRequests on {Client} at {DateTime.Now:yyyy-MM-dd HH:mm:ss} failed:\n\n" + string.Join("\n", failures) +
                    "\n\nThe requests stay queued and are sent again on the next run.\n");
            return !Log.HasLoggedErrors;
        }
        finally
        {
            ownLock?.Dispose();
        }
    }

    private void SendTo(BackupServerConfig server, TimeSpan timeout, List<ITaskItem> acknowledged, List<string> failures)
    {
        var pool = Pool(server.Name);
        var pending = new List<RequestRecord>();
        foreach (var id in pool.Ids(RequestState.Processing))
        {
            var r = pool.Load(RequestState.Processing, id);
            if (r == null) continue;
            if (!r.Prepared && !Prepare(server, pool, r, failures)) continue;
            pending.Add(r);
        }

        var git = new GitCommand(ControlRepository(server.Name), server.Ssh, timeout, Cancellation, _git);
        var pushedFile = ControlRepository(server.Name) + ".pushed";
        string commit;
        try
        {
            // In-process (LibGit2Sharp): no git process for the local commit; push and ls-remote below run git over ssh.
            var repo = ControlRepository(server.Name);
            Requests.ControlRepository.EnsureBare(repo);
            var parent = Requests.ControlRepository.Resolve(repo, "refs/heads/requests");
            commit = Requests.ControlRepository.CommitFlatTree(repo, pending.Select(r => (r.Id, r.WireText())), parent,
                $"{pending.Count} backup request(s) from {Client} at {DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'}");
            if (commit != parent) Requests.ControlRepository.UpdateRef(repo, "refs/heads/requests", commit);
        }
        catch (GitFailure e)
        {
            Log.LogErrorWithCodeFromResources("Requests.LocalGitFailed", ControlRepository(server.Name), e.Message);
            failures.Add($"{server.Name}: {Sentences.Of(e)}");
            return;
        }
        var alreadyPushed = File.Exists(pushedFile) && File.ReadAllText(pushedFile).Trim() == commit;
        // Prepared files still in the outgoing folder wait for the server's "stored" acknowledgement (below).
        var outgoing = OutgoingFiles(server.Name);
        if (pending.Count == 0 && alreadyPushed && outgoing.Count == 0) return;

        // The control line: push, then read the server's ref back.
        var push = git.Run("push", "--quiet", server.Url, "+" + commit + ":refs/heads/requests");
        var remote = git.Run("ls-remote", server.Url, "refs/heads/requests", "refs/heads/acks");
        string? remoteRequests = null, remoteAcks = null;
        if (remote.Succeeded)
            foreach (var line in remote.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split('\t');
                if (parts.Length != 2) continue;
                if (parts[1] == "refs/heads/requests") remoteRequests = parts[0];
                if (parts[1] == "refs/heads/acks") remoteAcks = parts[0];
            }
        if (remoteRequests != commit)
        {
            var why = !push.Succeeded ? Describe(push) : !remote.Succeeded ? Describe(remote)
                : $"the server's repository holds {remoteRequests ?? "no requests ref"} instead of {commit[..12]} after the push";
            Log.LogErrorWithCodeFromResources("Requests.SendFailed", server.Name, server.Url, pending.Count, why);
            failures.Add($"{server.Name} ({server.Url}): {pending.Count} request(s) not delivered: {why}");
            foreach (var r in pending) Record(pool, r, why);
            return;
        }
        AtomicFile.WriteAllBytes(pushedFile, Encoding.UTF8.GetBytes(commit + "\n"));
        Progress("Requests.Sent", pending.Count, server.Name);

        // The server's acknowledgements: every request it took into its TODO queue (or refused).
        if (remoteAcks == null || (pending.Count == 0 && outgoing.Count == 0)) return;
        var fetch = git.Run("fetch", "--quiet", server.Url, "+refs/heads/acks:refs/remotes/server/acks");
        if (!fetch.Succeeded)
        {
            Log.LogWarningWithCodeFromResources("Requests.AcksUnreadable", server.Name, Describe(fetch));
            return;
        }
        Dictionary<string, string> acks;
        HashSet<string> stored;
        try
        {
            var tree = Requests.ControlRepository.ReadFlatTree(ControlRepository(server.Name), "refs/remotes/server/acks");
            acks = Acks.Parse(tree.GetValueOrDefault("acks") ?? "");
            stored = Acks.ParseStored(tree.GetValueOrDefault("stored") ?? "");
        }
        catch (GitFailure e)
        {
            Log.LogWarningWithCodeFromResources("Requests.AcksUnreadable", server.Name, e.Message);
            return;
        }
        foreach (var r in pending)
        {
            if (!acks.TryGetValue(r.Id, out var status)) continue;
            if (status == "ok")
            {
                Progress("Requests.Acknowledged", r.Module, r.Path, server.Name, r.Id);
                var item = new TaskItem(r.Id);
                item.SetMetadata("Module", r.Module);
                item.SetMetadata("Source", r.Path);
                item.SetMetadata("Server", server.Name);
                acknowledged.Add(item);
            }
            else
            {
                Log.LogErrorWithCodeFromResources("Requests.Refused", r.Module, r.Path, server.Name, status);
                failures.Add($"{server.Name} refused the {r.Module} request for {r.Path}: {status}");
                if (r.Transfer == "sftp" && r.File.Length > 0) TryDelete(r.File);
            }
            pool.Move(r.Id, RequestState.Processing, RequestState.Finished);
            pool.Remove(RequestState.Finished, r.Id);
        }
        RemoveStored(server, outgoing, stored, pending);
    }

    /// <summary>The prepared files (named by their SHA-256) in a server's outgoing folder.</summary>
    private List<string> OutgoingFiles(string server)
    {
        var dir = OutgoingDir(server);
        if (!Directory.Exists(dir)) return new List<string>();
        return Directory.EnumerateFiles(dir).Where(f => RequestRecord.ShaPattern.IsMatch(Path.GetFileName(f))).ToList();
    }

    /// <summary>
    /// Removes the prepared files the server says it has stored (verified and filed: its "stored" list), and only
    /// those: a file a request still waiting for the server names stays, whatever the list says, and so does every
    /// file the server did not confirm. The server's own sftp removal usually got there first; this catches what it
    /// could not remove (the file piled up otherwise).
    /// </summary>
    private void RemoveStored(BackupServerConfig server, List<string> outgoing, HashSet<string> stored, List<RequestRecord> pending)
    {
        var waiting = Pool(server.Name).Ids(RequestState.Processing).Select(id => Pool(server.Name).Load(RequestState.Processing, id)?.Sha256)
            .Concat(pending.Select(r => r.Sha256)).Where(s => !string.IsNullOrEmpty(s)).ToHashSet(StringComparer.Ordinal);
        var removed = 0;
        foreach (var file in outgoing)
        {
            var sha = Path.GetFileName(file);
            if (!stored.Contains(sha) || waiting.Contains(sha)) continue;
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogWarningWithCodeFromResources("Requests.StoredNotRemoved", file, server.Name, e.Message);
            }
        }
        if (removed > 0) Progress("Requests.StoredRemoved", removed, server.Name, OutgoingDir(server.Name));
    }

    /// <summary>Turns the prepared dumps (and the site folder) into the request's archive; false when it cannot be sent yet.</summary>
    private bool Prepare(BackupServerConfig server, RequestQueue pool, RequestRecord r, List<string> failures)
    {
        var dir = PrepareDir(r.Id);
        var hasDump = Directory.Exists(dir) && Directory.EnumerateFiles(dir).Any(f => !Path.GetFileName(f).StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal));
        if (!hasDump)
        {
            var why = Format("Requests.NothingPrepared");
            Log.LogErrorWithCodeFromResources("Requests.PrepareFailed", r.Module, r.Path, server.Name, why);
            failures.Add($"{r.Module} {r.Path} for {server.Name}: {why}");
            Record(pool, r, why);
            return false;
        }
        try
        {
            var site = r.Module is "wordpress" or "trac" or "wiki" ? r.Path : null;
            // A live database file is never copied: its dump is in the archive instead.
            var excludes = r.Module == "trac" ? new[] { Path.Combine(r.Path, "db") } : Array.Empty<string>();
            var result = PreparedArchive.Write(OutgoingDir(server.Name), site, excludes, dir,
                (path, why) => Log.LogWarningWithCodeFromResources("Requests.Unreadable", path, why), Cancellation);
            GiveToRootOwner(OutgoingDir(server.Name), result.Path);
            r.Sha256 = result.Sha256;
            r.Size = result.Size;
            r.File = result.Path;
            pool.Update(RequestState.Processing, r);
            Directory.Delete(dir, recursive: true);
            Progress("Requests.Prepared", r.Module, r.Path, result.Path, result.Files, Units.Bytes(result.Size));
            return true;
        }
        catch (IOException e)
        {
            Log.LogErrorWithCodeFromResources("Requests.PrepareFailed", r.Module, r.Path, server.Name, e.Message);
            failures.Add($"{r.Module} {r.Path} for {server.Name}: {Sentences.Of(e)}");
            Record(pool, r, e.Message);
            return false;
        }
    }

    /// <summary>
    /// The server's account (the request user, who owns RequestRoot) reads and removes the prepared files: a run as
    /// root gives the outgoing folders and the new file to RequestRoot's owner, so that account can.
    /// </summary>
    private void GiveToRootOwner(string outgoing, string file)
    {
        if (!Posix.IsRoot || Posix.LStat(Root, out _) is not { } st || st.Uid == 0) return;
        foreach (var p in new[] { Path.GetDirectoryName(outgoing)!, outgoing, file })
            if (Posix.LStat(p, out _) is { } ps && (ps.Uid != st.Uid || ps.Gid != st.Gid))
                Ownership.Change(p, st.Uid, st.Gid);
    }

    private static void Record(RequestQueue pool, RequestRecord r, string why)
    {
        r.Attempts++;
        r.Error = why;
        try { pool.Update(RequestState.Processing, r); } catch (IOException) { }
    }

    private static string Describe(ProgramResult r) =>
        RemoteShell.Classify(r) switch
        {
            RemoteShell.Failure.Unreachable => "the server cannot be reached: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.AuthenticationRefused => "the server refused this client's key: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.HostKey => "the server's host key is not the one in known_hosts: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.Dropped => "the connection dropped: " + GitFailure.LastLines(r.Error),
            _ => (r.TimedOut ? "timed out" : "git exited with " + r.ExitCode.ToString(CultureInfo.InvariantCulture)) +
                 (r.Error.Trim().Length > 0 ? ": " + GitFailure.LastLines(r.Error) : ""),
        };

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The server's acknowledgements: one line per request id, "&lt;id&gt; ok" or "&lt;id&gt; refused: &lt;why&gt;".</summary>
public static class Acks
{
    public static Dictionary<string, string> Parse(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            if (space <= 0) continue;
            result[line[..space]] = line[(space + 1)..];
        }
        return result;
    }

    /// <summary>The "stored" file of the acks commit: one SHA-256 per line, the prepared files the server has stored.</summary>
    public static HashSet<string> ParseStored(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Where(l => RequestRecord.ShaPattern.IsMatch(l))
            .ToHashSet(StringComparer.Ordinal);

    public static string Format(IEnumerable<KeyValuePair<string, string>> acks) =>
        string.Concat(acks.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + " " + a.Value.Replace('\n', ' ') + "\n"));
}
