using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// What the server side of the request queue shares. Under RequestServerRoot:
///   control/&lt;client&gt;.git       the client's control repository (it pushes refs/heads/requests; we write refs/heads/acks)
///   TODO/&lt;client&gt;/              that client's queue (C/P/F files) and .seen/ (ids already taken in)
///   data/&lt;client&gt;/git&lt;path&gt;     git mirrors, keeping every ref ever fetched
///   data/&lt;client&gt;/rsync&lt;path&gt;/  rsync mirrors (symlinks munged); rsync.roots and git.roots list the claimed mirror paths
///   data/&lt;client&gt;/sftp/         objects/&lt;sha256&gt; and versions/&lt;id&gt;.version (browsed with -t:Browse)
///   history/&lt;yyyy-MM-dd&gt;/       one line per request received or pulled, for the daily summary
/// </summary>
public abstract class RequestServerTask : RequestTask
{
    [Required] public string RequestServerRoot { get; set; } = "";
    public ITaskItem[]? Clients { get; set; }
    public string? ServerName { get; set; }

    protected string Root { get; private set; } = "";
    protected List<RequestClientConfig> ClientList { get; private set; } = new();
    protected string Host => string.IsNullOrWhiteSpace(ServerName) ? Environment.MachineName : ServerName!.Trim();

    protected bool LoadCommon(Problems problems, bool clientsRequired = true)
    {
        Root = Values.AbsolutePath(RequestServerRoot, "RequestServerRoot", problems) ?? "";
        // A refused ssh group is reported (the clients are read once it is right).
        if (LoadShared(problems) is not { } ssh) return false;
        ClientList = RequestClientConfig.Read(Clients, ssh, problems);
        if (clientsRequired && (Clients == null || Clients.Length == 0)) problems.Error("Requests.NoClients");
        return !problems.HasErrors;
    }

    protected RequestQueue Todo(string client) => new(Path.Combine(Root, "TODO", client));
    protected string DataDir(string client) => Path.Combine(Root, "data", client);
    protected string HistoryDir(DateTime day) => Path.Combine(Root, "history", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Appends one line to today's history (a file per event, so a killed run never leaves half a line).</summary>
    protected void History(DateTime now, string client, string id, string kind, string line)
    {
        var dir = HistoryDir(now.ToLocalTime().Date);
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllBytes(Path.Combine(dir, $"{client}.{id}.{kind}"), Encoding.UTF8.GetBytes(line + "\n"));
    }

}
