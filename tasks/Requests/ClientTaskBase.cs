using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// What the client side of the request queue shares: its folders under RequestRoot, its servers,
/// the ssh settings and the mailer.
///   RequestRoot/&lt;server&gt;/                 the request pool for that server (i/C/P/F files)
///   RequestRoot/outgoing/&lt;server&gt;/&lt;sha256&gt; prepared archives the server fetches with sftp (and then removes)
///   RequestRoot/prepare/&lt;id&gt;/              dumps being prepared for a request
///   RequestRoot/control/&lt;server&gt;.git        the local side of the control line (a bare git repository)
/// </summary>
public abstract class RequestClientTask : RequestTask
{
    [Required] public string RequestRoot { get; set; } = "";
    public string? ClientName { get; set; }
    public ITaskItem[]? Servers { get; set; }

    protected string Root { get; private set; } = "";
    protected string Client { get; private set; } = "";
    protected List<BackupServerConfig> ServerList { get; private set; } = new();

    /// <summary>Reads the shared settings into <paramref name="problems"/>; false when they are unusable.</summary>
    protected bool LoadCommon(Problems problems)
    {
        Root = Values.AbsolutePath(RequestRoot, "RequestRoot", problems) ?? "";
        Client = (ClientName ?? "").Trim();
        if (!RequestNames.IsName(Client)) problems.Error("Requests.BadName", "RequestClientName", Client);
        // A refused ssh group is reported (the servers are read once it is right).
        if (LoadShared(problems) is not { } ssh) return false;
        ServerList = BackupServerConfig.Read(Servers, ssh, problems);
        if (ServerList.Count == 0 && (Servers == null || Servers.Length == 0)) problems.Error("Requests.NoServers");
        return !problems.HasErrors;
    }

    protected RequestQueue Pool(string server) => new(Path.Combine(Root, server));
    protected string OutgoingDir(string server) => Path.Combine(Root, "outgoing", server);
    protected string PrepareDir(string id) => Path.Combine(Root, "prepare", id);
    protected string ControlRepository(string server) => Path.Combine(Root, "control", server + ".git");
}

/// <summary>The request-queue modules of a client and the items they come from.</summary>
public sealed record RequestModule(string Name, string Transfer, IReadOnlyList<string> Sources)
{
    public static readonly string[] Names = { "directories", "git", "wordpress", "trac", "wiki", "databases" };
}
