using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>The ssh settings shared by both sides (the Ssh* properties), overridable per item.</summary>
public sealed class SshDefaults
{
    public string? IdentityFile { get; init; }
    public string? KnownHostsFile { get; init; }
    public required TimeSpan ConnectTimeout { get; init; }
    public required TimeSpan IdleTimeout { get; init; }
    public required string Ciphers { get; init; }

    /// <summary>
    /// The queue's own key and known_hosts (RequestIdentityFile, RequestKnownHostsFile) with the timeouts and ciphers of
    /// the BackupSshSettings group, parsed as Stage and Validate parse them; null when the group is wrong.
    /// </summary>
    public static SshDefaults? Read(string? identity, string? knownHosts, Microsoft.Build.Framework.ITaskItem? sshSettings, Problems problems) =>
        Settings.SshSettings.Parse(sshSettings, problems) is not { } ssh ? null : new()
        {
            IdentityFile = string.IsNullOrWhiteSpace(identity) ? null : identity.Trim(),
            KnownHostsFile = string.IsNullOrWhiteSpace(knownHosts) ? null : knownHosts.Trim(),
            ConnectTimeout = TimeSpan.FromSeconds(ssh.ConnectTimeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(ssh.IdleTimeoutSeconds),
            Ciphers = ssh.Ciphers,
        };

    /// <summary>An endpoint from an item's Host/Port/User/IdentityFile/KnownHostsFile metadata.</summary>
    public SshEndpoint? Endpoint(ITaskItem item, string itemType, string defaultUser, Problems problems)
    {
        var host = item.GetMetadata("Host").Trim();
        if (host.Length == 0) { problems.Error("Requests.NoHost", itemType, item.ItemSpec); return null; }
        if (host.StartsWith('-') || host.Any(char.IsWhiteSpace)) { problems.Error("Requests.BadHost", itemType, item.ItemSpec, host); return null; }
        var portText = item.GetMetadata("Port").Trim();
        var port = 22;
        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            problems.Error("Requests.BadPort", itemType, item.ItemSpec, portText);
            return null;
        }
        var user = item.GetMetadata("User").Trim();
        if (user.Length == 0) user = defaultUser;
        var identity = item.GetMetadata("IdentityFile").Trim();
        var known = item.GetMetadata("KnownHostsFile").Trim();
        return new SshEndpoint(host, port, user, identity.Length > 0 ? identity : IdentityFile, known.Length > 0 ? known : KnownHostsFile,
            new[] { "ssh" }, ConnectTimeout, IdleTimeout) { Ciphers = Ciphers };
    }
}

/// <summary>A BackupServer item: where this client sends its requests (the server's control repository for it).</summary>
public sealed record BackupServerConfig(string Name, SshEndpoint Ssh, string Repository, bool IsDefault)
{
    private static readonly string[] Metadata = { "Host", "Port", "User", "IdentityFile", "KnownHostsFile", "Repository", "Default" };

    /// <summary>git's URL for the control repository: ssh://user@host:port/path.</summary>
    public string Url => $"ssh://{Ssh.Target}:{Ssh.Port}{Repository}";

    public static List<BackupServerConfig> Read(ITaskItem[]? items, string client, SshDefaults ssh, Problems problems)
    {
        var result = new List<BackupServerConfig>();
        foreach (var item in items ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "BackupServer", problems, Metadata);
            var name = item.ItemSpec.Trim();
            if (!RequestNames.IsName(name)) { problems.Error("Requests.BadName", "BackupServer", item.ItemSpec); continue; }
            if (result.Any(s => s.Name == name)) { problems.Error("Requests.DuplicateName", "BackupServer", name); continue; }
            var endpoint = ssh.Endpoint(item, "BackupServer", "backup", problems);
            var repo = item.GetMetadata("Repository").Trim();
            if (repo.Length == 0) repo = "/var/lib/backupbuild/request-server/control/" + client + ".git";
            else if (!repo.StartsWith('/') || repo.Contains("/../") || repo.Any(c => char.IsWhiteSpace(c) || c == '\''))
            {
                problems.Error("Requests.BadRepository", name, repo);
                continue;
            }
            var isDefault = Values.Flag(item.GetMetadata("Default"), $"BackupServer \"{name}\" Default", problems);
            if (endpoint != null) result.Add(new BackupServerConfig(name, endpoint, Values.Trim(repo), isDefault));
        }
        if (result.Count(s => s.IsDefault) > 1)
            problems.Error("Requests.TwoDefaults", string.Join(", ", result.Where(s => s.IsDefault).Select(s => s.Name)));
        return result;
    }
}

/// <summary>A RequestClient item on a backup server: a client it serves, how to reach it, and what it may ask for.</summary>
public sealed record RequestClientConfig(string Name, SshEndpoint Ssh, IReadOnlyList<string> Folders, string Outgoing, string Repository)
{
    private static readonly string[] Metadata = { "Host", "Port", "User", "IdentityFile", "KnownHostsFile", "Folders", "Outgoing", "Repository" };

    /// <summary>True when <paramref name="path"/> is one of the client's folders or inside one.</summary>
    public bool Allows(string path) =>
        path.StartsWith('/') && !path.Split('/').Contains("..") &&
        Folders.Any(f => path == f || path.StartsWith(f == "/" ? "/" : f + "/", StringComparison.Ordinal));

    public static List<RequestClientConfig> Read(ITaskItem[]? items, string serverRoot, SshDefaults ssh, Problems problems)
    {
        var result = new List<RequestClientConfig>();
        foreach (var item in items ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "RequestClient", problems, Metadata);
            var name = item.ItemSpec.Trim();
            if (!RequestNames.IsName(name)) { problems.Error("Requests.BadName", "RequestClient", item.ItemSpec); continue; }
            if (result.Any(c => c.Name == name)) { problems.Error("Requests.DuplicateName", "RequestClient", name); continue; }
            var endpoint = ssh.Endpoint(item, "RequestClient", "backup", problems);
            var folders = new List<string>();
            foreach (var f in Values.List(item.GetMetadata("Folders")))
            {
                var folder = Values.AbsolutePath(f, $"RequestClient \"{name}\" Folders", problems);
                if (folder != null) folders.Add(folder);
            }
            if (folders.Count == 0 && item.GetMetadata("Folders").Trim().Length == 0)
                problems.Error("Requests.NoFolders", name);
            var outgoingText = item.GetMetadata("Outgoing").Trim();
            var outgoing = outgoingText.Length == 0 ? "/var/lib/backupbuild/requests/outgoing"
                : Values.AbsolutePath(outgoingText, $"RequestClient \"{name}\" Outgoing", problems);
            var repoText = item.GetMetadata("Repository").Trim();
            var repo = repoText.Length == 0 ? Path.Combine(serverRoot, "control", name + ".git")
                : Values.AbsolutePath(repoText, $"RequestClient \"{name}\" Repository", problems);
            if (endpoint != null && outgoing != null && repo != null)
                result.Add(new RequestClientConfig(name, endpoint, folders, outgoing, repo));
        }
        return result;
    }
}

public static class RequestNames
{
    /// <summary>Server and client names become folder names: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    public static bool IsName(string s) =>
        s.Length is > 0 and <= 100 && s[0] != '.' && s[0] != '-' && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
