using System.Globalization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>The data line: the server pulls what a request names from the client, with the OpenSSH, rsync and git programs.</summary>
internal sealed class Transfers
{
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _cancel;

    public Transfers(TimeSpan timeout, CancellationToken cancel, string git, string rsync, string sftp)
    {
        _timeout = timeout;
        _cancel = cancel;
        Git = git;
        Rsync = rsync;
        Sftp = sftp;
    }

    public string Git { get; }
    public string Rsync { get; }
    public string Sftp { get; }

    /// <summary>Mirrors a folder of the client with rsync; null on success, else why not.</summary>
    public string? PullRsync(RequestClientConfig client, string path, string destination)
    {
        // The destination was checked by the caller: real folders from the store's root down (StoreFolders.Ensure).
        // On this (receiving) side: --munge-links makes every symlink the client sends point beneath
        // /rsyncd-munged/, which does not exist, so no link in a mirror can be followed, by us or anyone;
        // --no-D keeps no device nodes or fifos; --chmod=ug-s,go= keeps no setuid/setgid bit and nothing for group and others (owner-only, docs/deploy.md). Never
        // --keep-dirlinks (-K) or --no-implied-dirs: either would let a link the client planted steer writes.
        // The client's side still gets "rsync --server --sender -logtpre.LsfxCIvu --numeric-ids . <path>/" (rsync 3.5.0):
        // these options are not sent to it.
        var args = new List<string>
        {
            "-a", "--no-D", "--munge-links", "--chmod=ug-s,go=", "--delete", "--numeric-ids", "--delay-updates", "-e", client.Ssh.ShellCommandLine,
            client.Ssh.Target + ":" + path.TrimEnd('/') + "/", destination.TrimEnd('/') + "/",
        };
        // History (MirrorVersions) is kept around this call: rsync's --backup options would be sent to the client's side.
        var r = ProgramRunner.Run(Rsync, args, _timeout, _cancel, new ProgramOptions { CLocale = true });
        // 24: some files vanished while rsync ran, which a live folder does.
        if (r.Succeeded || (r.ExitCode == 24 && !r.TimedOut)) return null;
        return Describe("rsync", r);
    }

    /// <summary>
    /// Fetches a client's repository into a bare mirror that never loses history: refs are fetched into
    /// refs/incoming/, then each ref moves forward; a ref the client rewound or force-pushed is first kept
    /// under refs/attic/&lt;time&gt;/, and refs deleted on the client stay. Returns null on success.
    /// </summary>
    public string? PullGit(RequestClientConfig client, string path, string mirror, DateTime now, Action<string, string, string> rewound)
    {
        var git = new GitCommand(mirror, client.Ssh, _timeout, _cancel, Git);
        try
        {
            ControlRepository.EnsureBare(mirror);
            // The fetch stays with the git program: it is the conversation with the client over ssh.
            var url = $"ssh://{client.Ssh.Target}:{client.Ssh.Port}{path}";
            var fetch = git.Run("fetch", "--quiet", "--no-write-fetch-head", url,
                "+refs/heads/*:refs/incoming/heads/*", "+refs/tags/*:refs/incoming/tags/*");
            if (!fetch.Succeeded) return Describe("git fetch", fetch);
            var refs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in git.Output("for-each-ref", "--format=%(objectname) %(refname)", "refs/incoming", "refs/heads", "refs/tags")
                         .Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var space = line.IndexOf(' ');
                refs[line[(space + 1)..]] = line[..space];
            }
            var stamp = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var commands = new System.Text.StringBuilder();
            foreach (var (name, incoming) in refs.Where(r => r.Key.StartsWith("refs/incoming/", StringComparison.Ordinal)))
            {
                var target = "refs/" + name["refs/incoming/".Length..];
                if (refs.TryGetValue(target, out var current))
                {
                    if (current == incoming) { commands.Append("delete ").Append(name).Append('\n'); continue; }
                    var forward = git.Run("merge-base", "--is-ancestor", current, incoming).ExitCode == 0;
                    if (!forward)
                    {
                        var attic = "refs/attic/" + stamp + "/" + target["refs/".Length..];
                        commands.Append("create ").Append(attic).Append(' ').Append(current).Append('\n');
                        rewound(target, current, attic);
                    }
                    commands.Append("update ").Append(target).Append(' ').Append(incoming).Append(' ').Append(current).Append('\n');
                }
                else
                {
                    commands.Append("create ").Append(target).Append(' ').Append(incoming).Append('\n');
                }
                commands.Append("delete ").Append(name).Append('\n');
            }
            if (commands.Length > 0) git.OutputWithInput(commands.ToString(), "update-ref", "--stdin");
            return null;
        }
        catch (GitFailure e)
        {
            return e.Message;
        }
    }

    /// <summary>Copies one file from the client with sftp into <paramref name="local"/>; null on success.</summary>
    public string? SftpGet(RequestClientConfig client, string remote, string local)
    {
        var batch = $"get \"{remote}\" \"{local}\"\n";
        return SftpBatch(client, batch);
    }

    /// <summary>Removes the client's copy, after the server has verified its own.</summary>
    public string? SftpRemove(RequestClientConfig client, string remote) => SftpBatch(client, $"rm \"{remote}\"\n");

    private string? SftpBatch(RequestClientConfig client, string batch)
    {
        var batchFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(batchFile, batch);
            var args = new List<string> { "-q", "-b", batchFile };
            var options = client.Ssh.Options.ToList();
            for (var i = 0; i < options.Count; i++)
                args.Add(options[i] == "-p" ? "-P" : options[i]);
            args.Add(client.Ssh.Target);
            var r = ProgramRunner.Run(Sftp, args, _timeout, _cancel, new ProgramOptions { CLocale = true });
            return r.Succeeded ? null : Describe("sftp", r);
        }
        finally
        {
            File.Delete(batchFile);
        }
    }

    /// <summary>ssh's own refusal of the key: "user@host: Permission denied (publickey,…)." (not a file's "Permission denied (13)").</summary>
    private static readonly System.Text.RegularExpressions.Regex KeyRefused = new(@"Permission denied \([a-z-]+[,)]");

    internal static string Describe(string program, ProgramResult r) =>
        RemoteShell.Classify(r) switch
        {
            // A file or folder the client's account may not read or remove (say a root-owned outgoing folder) is no refused key.
            RemoteShell.Failure.AuthenticationRefused when !KeyRefused.IsMatch(r.Error) =>
                $"{program} was let in, but the client's account may not read or remove a file there: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.Unreachable => "the client cannot be reached: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.AuthenticationRefused => "the client refused the server's key: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.HostKey => "the client's host key is not the one in known_hosts: " + GitFailure.LastLines(r.Error),
            RemoteShell.Failure.Dropped => "the connection dropped: " + GitFailure.LastLines(r.Error),
            _ => $"{program} " + (r.TimedOut ? "timed out" : "exited with " + r.ExitCode.ToString(CultureInfo.InvariantCulture)) +
                 (r.Error.Trim().Length > 0 ? ": " + GitFailure.LastLines(r.Error) : ""),
        };
}
