using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// The ssh settings of the BackupSshSettings group both sides use for every endpoint (timeouts, ciphers). Everything else
/// is per item: Port, User, IdentityFile and KnownHostsFile, whose defaults (22, backup, RequestIdentityFile,
/// RequestKnownHostsFile) the ItemDefinitionGroups of targets/BackupBuild.props give every BackupServer and RequestClient.
/// </summary>
public sealed class SshDefaults
{
    public required TimeSpan ConnectTimeout { get; init; }
    public required TimeSpan IdleTimeout { get; init; }
    public required string Ciphers { get; init; }

    /// <summary>The timeouts and ciphers of a parsed BackupSshSettings group (as Stage and Validate parse it).</summary>
    public static SshDefaults From(Settings.SshSettings ssh) => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(ssh.ConnectTimeoutSeconds),
        IdleTimeout = TimeSpan.FromSeconds(ssh.IdleTimeoutSeconds),
        Ciphers = ssh.Ciphers,
    };

    /// <summary>The BackupSshSettings group's part, parsed as Stage and Validate parse it; null when the group is wrong.</summary>
    public static SshDefaults? Read(ITaskItem? sshSettings, Problems problems) =>
        Settings.SshSettings.Parse(sshSettings, problems) is { } ssh ? From(ssh) : null;

    /// <summary>
    /// An endpoint from an item's Host/Port/User/IdentityFile/KnownHostsFile metadata; Port and User are required (the
    /// props give them, BKP1151), IdentityFile and KnownHostsFile may be empty (ssh's own defaults).
    /// </summary>
    public SshEndpoint? Endpoint(ITaskItem item, string itemType, Problems problems)
    {
        var before = problems.ErrorCount;
        var host = item.GetMetadata("Host").Trim();
        if (host.Length == 0) problems.Error("Requests.NoHost", itemType, item.ItemSpec);
        else if (host.StartsWith('-') || host.Any(char.IsWhiteSpace)) problems.Error("Requests.BadHost", itemType, item.ItemSpec, host);
        var portText = Settings.ItemMetadata.Required(item, itemType, "Port", problems);
        var port = 0;
        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            problems.Error("Requests.BadPort", itemType, item.ItemSpec, portText);
        var user = Settings.ItemMetadata.Required(item, itemType, "User", problems);
        var identity = item.GetMetadata("IdentityFile").Trim();
        var known = item.GetMetadata("KnownHostsFile").Trim();
        if (problems.ErrorCount > before) return null;
        return new SshEndpoint(host, port, user, identity.Length > 0 ? identity : null, known.Length > 0 ? known : null,
            new[] { "ssh" }, ConnectTimeout, IdleTimeout) { Ciphers = Ciphers };
    }
}

/// <summary>A BackupServer item: where this client sends its requests (the server's control repository for it).</summary>
public sealed record BackupServerConfig(string Name, SshEndpoint Ssh, string Repository, bool IsDefault)
{
    private static readonly string[] Metadata = { "Host", "Port", "User", "IdentityFile", "KnownHostsFile", "Repository", "Default" };

    /// <summary>git's URL for the control repository: ssh://user@host:port/path.</summary>
    public string Url => $"ssh://{Ssh.Target}:{Ssh.Port}{Repository}";

    /// <summary>
    /// The BackupServer items, every problem reported; Validate and every client task read them here. Repository and
    /// Default come from the ItemDefinitionGroup of targets/BackupBuild.props (an emptied one is BKP1151).
    /// </summary>
    public static List<BackupServerConfig> Read(ITaskItem[]? items, SshDefaults ssh, Problems problems)
    {
        var result = new List<BackupServerConfig>();
        foreach (var item in items ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "BackupServer", problems, Metadata);
            var name = item.ItemSpec.Trim();
            if (!RequestNames.IsName(name)) { problems.Error("Requests.BadName", "BackupServer", item.ItemSpec); continue; }
            if (result.Any(s => s.Name == name)) { problems.Error("Requests.DuplicateName", "BackupServer", name); continue; }
            var before = problems.ErrorCount;
            var endpoint = ssh.Endpoint(item, "BackupServer", problems);
            var repo = Settings.ItemMetadata.Required(item, "BackupServer", "Repository", problems);
            if (repo.Length > 0 && (!repo.StartsWith('/') || repo.Contains("/../") || repo.Any(c => char.IsWhiteSpace(c) || c == '\'')))
                problems.Error("Requests.BadRepository", name, repo);
            var isDefault = Settings.ItemMetadata.Flag(item, "BackupServer", "Default", problems);
            if (endpoint != null && problems.ErrorCount == before) result.Add(new BackupServerConfig(name, endpoint, Values.Trim(repo), isDefault));
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

    /// <summary>
    /// The RequestClient items, every problem reported; Validate and every server task read them here. Outgoing and
    /// Repository come from the ItemDefinitionGroup of targets/BackupBuild.props (an emptied one is BKP1151).
    /// </summary>
    public static List<RequestClientConfig> Read(ITaskItem[]? items, SshDefaults ssh, Problems problems)
    {
        var result = new List<RequestClientConfig>();
        foreach (var item in items ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "RequestClient", problems, Metadata);
            var name = item.ItemSpec.Trim();
            if (!RequestNames.IsName(name)) { problems.Error("Requests.BadName", "RequestClient", item.ItemSpec); continue; }
            if (result.Any(c => c.Name == name)) { problems.Error("Requests.DuplicateName", "RequestClient", name); continue; }
            var before = problems.ErrorCount;
            var endpoint = ssh.Endpoint(item, "RequestClient", problems);
            var folders = new List<string>();
            foreach (var f in Values.List(item.GetMetadata("Folders")))
            {
                var folder = Values.AbsolutePath(f, $"RequestClient \"{name}\" Folders", problems);
                if (folder != null) folders.Add(folder);
            }
            if (folders.Count == 0 && item.GetMetadata("Folders").Trim().Length == 0)
                problems.Error("Requests.NoFolders", name);
            var outgoingText = Settings.ItemMetadata.Required(item, "RequestClient", "Outgoing", problems);
            var outgoing = outgoingText.Length == 0 ? null : Values.AbsolutePath(outgoingText, $"RequestClient \"{name}\" Outgoing", problems);
            var repoText = Settings.ItemMetadata.Required(item, "RequestClient", "Repository", problems);
            var repo = repoText.Length == 0 ? null : Values.AbsolutePath(repoText, $"RequestClient \"{name}\" Repository", problems);
            if (endpoint != null && outgoing != null && repo != null && problems.ErrorCount == before)
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
