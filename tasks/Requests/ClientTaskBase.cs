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
public abstract class RequestClientTask : BackupTask
{
    [Required] public string RequestRoot { get; set; } = "";
    public string? ClientName { get; set; }
    public ITaskItem[]? Servers { get; set; }
    public string? SshIdentityFile { get; set; }
    public string? SshKnownHostsFile { get; set; }
    public string? SshConnectTimeout { get; set; }
    public string? SshIdleTimeout { get; set; }
    public string? SshCiphers { get; set; }
    public string? LockWaitSeconds { get; set; }
    public string? MailTo { get; set; }
    public string? MailMethod { get; set; }
    public string? MailSendmail { get; set; }
    public string? MailSendmailArguments { get; set; }
    public string? MailSmtpHost { get; set; }
    public string? MailSmtpPort { get; set; }
    public string? MailFrom { get; set; }

    protected string Root { get; private set; } = "";
    protected string Client { get; private set; } = "";
    protected List<BackupServerConfig> ServerList { get; private set; } = new();
    protected Mailer? Mail { get; private set; }
    protected TimeSpan LockWait { get; private set; }

    /// <summary>Reads the shared settings into <paramref name="problems"/>; false when they are unusable.</summary>
    protected bool LoadCommon(Problems problems)
    {
        Root = Values.AbsolutePath(RequestRoot, "RequestRoot", problems) ?? "";
        Client = (ClientName ?? "").Trim();
        if (!RequestNames.IsName(Client)) problems.Error("Requests.BadName", "RequestClientName", Client);
        var ssh = SshDefaults.Read(SshIdentityFile, SshKnownHostsFile, SshConnectTimeout, SshIdleTimeout, SshCiphers, problems);
        ServerList = BackupServerConfig.Read(Servers, Client, ssh, problems);
        if (ServerList.Count == 0 && (Servers == null || Servers.Length == 0)) problems.Error("Requests.NoServers");
        Mail = Mailer.From_(MailTo, MailMethod, MailSendmail, MailSendmailArguments, MailSmtpHost, MailSmtpPort, MailFrom, problems);
        LockWait = TimeSpan.FromSeconds(Values.Integer(LockWaitSeconds, "BackupLockWaitSeconds", problems, 60, 0));
        return !problems.HasErrors;
    }

    protected RequestQueue Pool(string server) => new(Path.Combine(Root, server));
    protected string OutgoingDir(string server) => Path.Combine(Root, "outgoing", server);
    protected string PrepareDir(string id) => Path.Combine(Root, "prepare", id);
    protected string ControlRepository(string server) => Path.Combine(Root, "control", server + ".git");

    /// <summary>Mails the administrators; a mail that cannot be sent is a warning, never the reason a run fails.</summary>
    protected void Notify(string subject, string body)
    {
        if (Mail is not { Configured: true }) return;
        var failure = Mail.Send(subject, body);
        if (failure != null) Log.LogWarningWithCodeFromResources("Mail.Failed", string.Join(", ", Mail.To), failure);
    }
}

/// <summary>The request-queue modules of a client and the items they come from.</summary>
public sealed record RequestModule(string Name, string Transfer, IReadOnlyList<string> Sources)
{
    public static readonly string[] Names = { "directories", "git", "wordpress", "trac", "wiki", "databases" };
}
