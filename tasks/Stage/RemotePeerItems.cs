using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Stage;

/// <summary>Reads the remote metadata of a Peer item (Type="remote"), reporting every problem.</summary>
public static class RemotePeerItems
{
    private static readonly string[] Actions = { "collect", "stage", "store", "purge" };

    /// <summary>A function that completes the peer with its remote settings, or null when they are wrong.</summary>
    /// <remarks>
    /// The item's metadata carry their defaults (User, IdentityFile, KnownHostsFile, RemoteShell, RemoteCopy,
    /// ManagedActions, ManagedProject: the ItemDefinitionGroup of targets/BackupBuild.props, from RemoteUser, Ssh…);
    /// <paramref name="defaults"/> (the BackupSshSettings group) gives what is not per peer, the timeouts and ciphers.
    /// Without it (the group was refused, and said so) only metadata that are set are checked.
    /// </remarks>
    public static Func<StagePeer, StagePeer>? Read(ITaskItem item, Settings.SshSettings? defaults, Action<string, object[]> problem)
    {
        var name = item.ItemSpec;
        var ok = true;
        string Meta(string key) => item.GetMetadata(key);

        // Host (the item's name), Port (22) and Managed (false) come from the Peer ItemDefinitionGroup of
        // targets/BackupBuild.props: empty is BKP1151.
        var host = item.GetMetadata("Host");
        if (host.Length == 0)
        {
            problem("Config.MissingItemMetadata", new object[] { "Peer", name, "Host" });
            ok = false;
        }
        else if (host.StartsWith('-') || host.Any(char.IsWhiteSpace))
        {
            problem("Stage.BadHost", new object[] { name, host });
            ok = false;
        }
        var port = 0;
        var portText = item.GetMetadata("Port");
        if (portText.Length == 0)
        {
            problem("Config.MissingItemMetadata", new object[] { "Peer", name, "Port" });
            ok = false;
        }
        else if (!int.TryParse(portText, out port) || port is < 1 or > 65535)
        {
            problem("Stage.BadPort", new object[] { name, portText });
            ok = false;
        }
        var user = Meta("User");
        if (user.StartsWith('-') || user.Contains('@') || user.Any(char.IsWhiteSpace))
        {
            problem("Stage.BadUser", new object[] { name, user });
            ok = false;
        }
        var shell = Split(Meta("RemoteShell"));
        var copy = Split(Meta("RemoteCopy"));
        var copyKind = copy.Length == 0 ? "" : Path.GetFileName(copy[0]);
        if (shell.Length == 0 && (defaults != null || item.GetMetadata("RemoteShell").Length > 0))
        {
            problem("Stage.BadRemoteShell", new object[] { name });
            ok = false;
        }
        if ((copyKind is not ("rsync" or "scp") && copy is not ["ssh"]) && (defaults != null || copy.Length > 0))
        {
            problem("Stage.BadRemoteCopy", new object[] { name, string.Join(' ', copy) });
            ok = false;
        }
        var managed = false;
        var managedText = item.GetMetadata("Managed");
        if (managedText.Length == 0)
        {
            problem("Config.MissingItemMetadata", new object[] { "Peer", name, "Managed" });
            ok = false;
        }
        else if (!bool.TryParse(managedText, out managed))
        {
            problem("Stage.BadManaged", new object[] { name, managedText });
            ok = false;
        }
        var actions = Values.List(Meta("ManagedActions")).Select(a => a.ToLowerInvariant()).ToList();
        foreach (var bad in actions.Where(a => !Actions.Contains(a)))
        {
            problem("Stage.BadManagedAction", new object[] { name, bad });
            ok = false;
        }
        var project = Meta("ManagedProject");
        if (managed && !project.StartsWith('/') && (defaults != null || project.Length > 0))
        {
            problem("Stage.RelativeManagedProject", new object[] { name, project });
            ok = false;
        }
        if (!ok || defaults == null) return null;

        var ssh = new SshEndpoint(host, port, user.Length > 0 ? user : null, NullIfEmpty(Meta("IdentityFile")),
            NullIfEmpty(Meta("KnownHostsFile")), shell,
            TimeSpan.FromSeconds(defaults.ConnectTimeoutSeconds), TimeSpan.FromSeconds(defaults.IdleTimeoutSeconds))
        {
            Ciphers = defaults.Ciphers,
        };
        return peer => peer with
        {
            Ssh = ssh, CopyCommand = copy, Managed = managed, ManagedActions = actions, ManagedProject = project,
        };
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static string[] Split(string command) => command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
