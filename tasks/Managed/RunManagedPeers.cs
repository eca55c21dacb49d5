using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Stage;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Managed;

/// <summary>
/// Cedar Backup's managed clients: after an action ran here (Managed=true), or instead of it
/// (ManagedOnly=true), the master runs the same action on every managed peer that lists it, as
/// `dotnet msbuild` on the peer's own copy of the configuration, through the remote shell. A
/// peer's failure is an error carrying the peer's own output; the other peers still run.
/// </summary>
public sealed class RunManagedPeers : BackupTask
{
    /// <summary>The action to run: Collect, Stage, Store or Purge.</summary>
    [Required] public string Action { get; set; } = "";
    public ITaskItem[]? Peers { get; set; }
    /// <summary>@(BackupRunSettings): Full and the run date are handed on to the peers.</summary>
    public ITaskItem? RunSettings { get; set; }
    /// <summary>@(BackupSshSettings): how the peers are reached, their defaults, and ManagedDotnet.</summary>
    public ITaskItem? SshSettings { get; set; }

    /// <summary>A managed run may take as long as the action does; this only stops a hung peer.</summary>
    internal static TimeSpan RunTimeout { get; set; } = TimeSpan.FromHours(12);

    protected override bool Run()
    {
        var problems = new Problems();
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var ssh = Settings.SshSettings.Parse(SshSettings, problems);
        var peers = PeerItems.Read(Peers, (r, a) => problems.Error(r, a), ssh);
        problems.LogTo(Log);
        if (problems.HasErrors || run == null || ssh == null) return false;

        var action = Action.ToLowerInvariant();
        var managed = peers.Where(p => p.Managed && p.ManagedActions.Contains(action)).ToList();
        if (managed.Count == 0)
        {
            Detail("Managed.None", Action);
            return true;
        }
        foreach (var peer in managed)
        {
            Cancellation.ThrowIfCancellationRequested();
            RunOn(peer, run, ssh.ManagedDotnet);
        }
        return !Log.HasLoggedErrors;
    }

    private void RunOn(StagePeer peer, Settings.RunSettings run, string dotnet)
    {
        var command = new List<string>
        {
            "MSBUILDDISABLENODEREUSE=1", "DOTNET_CLI_USE_MSBUILD_SERVER=0", dotnet,
            "msbuild", peer.ManagedProject, "-t:" + Action, "-nologo", "-v:m", "-tl:off",
            "-p:BackupPeer=" + peer.Name, "-p:Full=" + (run.Full ? "true" : "false"),
        };
        if (run.RunDate.Length > 0) command.Add("-p:BackupRunDate=" + run.RunDate);
        Progress("Managed.Running", Action, peer.Name, peer.Ssh!.Target);
        var text = string.Join(' ', command.Select(Infrastructure.RemoteShell.Quote));
        ProgramResult result;
        Infrastructure.RemoteShell.Failure failure;
        string detail = "";
        if (RemotePeerStage.UsesSshNet(peer.Ssh))
        {
            // The peer's SSH.NET connection of this build (Stage's, or an earlier managed run's; opened now if there is
            // none): the same command string ssh sends, so the gate sees no difference; failures named from the protocol.
            var connection = SshConnections.Get(peer.Name, peer.Ssh, Cancellation, out var open, out var reused);
            if (connection != null && reused) Detail("Managed.ConnectionReused", peer.Name, peer.Ssh.Target);
            SshFailure? ran = open;
            result = connection?.Execute(text, RunTimeout, Cancellation, 64L * 1024 * 1024, out ran)
                ?? new ProgramResult(-1, Array.Empty<byte>(), "", false, false);
            failure = ran?.Kind ?? (result.Succeeded ? Infrastructure.RemoteShell.Failure.None : Infrastructure.RemoteShell.Failure.Command);
            detail = ran is { Kind: not Infrastructure.RemoteShell.Failure.Command } ? ran.Detail : "";
        }
        else
        {
            result = Infrastructure.RemoteShell.Execute(peer.Ssh, text, RunTimeout, Cancellation);
            failure = Infrastructure.RemoteShell.Classify(result);
        }
        var output = (result.Output + result.Error).TrimEnd();
        if (result.Succeeded)
        {
            foreach (var line in output.Split('\n')) Log.LogMessage(MessageImportance.Normal, "  [{0}] {1}", peer.Name, line);
            Progress("Managed.Succeeded", Action, peer.Name);
            return;
        }
        var reason = failure switch
        {
            Infrastructure.RemoteShell.Failure.Command => $"exit code {result.ExitCode}",
            Infrastructure.RemoteShell.Failure.Unreachable => "unreachable",
            Infrastructure.RemoteShell.Failure.AuthenticationRefused => "the peer refused the key",
            Infrastructure.RemoteShell.Failure.HostKey => "the host key does not match known_hosts",
            Infrastructure.RemoteShell.Failure.Unsupported => "SshCiphers leaves no cipher SSH.NET implements",
            _ => result.TimedOut ? "timed out" : "the connection dropped",
        };
        if (detail.Length > 0) output = (output + "\n" + detail).Trim();
        Log.LogErrorWithCodeFromResources("Managed.Failed", Action, peer.Name, peer.Ssh.Target, reason,
            string.Join("\n", output.Split('\n').TakeLast(40).Select(l => "  [" + peer.Name + "] " + l)));
    }
}
