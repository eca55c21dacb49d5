using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// What both sides of the request queue read: the ssh timeouts and ciphers, the lock wait and the Mail* properties. The
/// queue's own key and known_hosts (RequestIdentityFile, RequestKnownHostsFile, never Stage's) reach each BackupServer and
/// RequestClient item as its IdentityFile and KnownHostsFile (the ItemDefinitionGroups of targets/BackupBuild.props).
/// </summary>
public abstract class RequestTask : BackupTask
{
    /// <summary>@(BackupSshSettings): the ssh timeouts and ciphers, as Stage uses them.</summary>
    public Microsoft.Build.Framework.ITaskItem? SshSettings { get; set; }
    /// <summary>@(BackupRunSettings): the lock wait (and the run date and starting day, checked as everywhere).</summary>
    public Microsoft.Build.Framework.ITaskItem? RunSettings { get; set; }
    /// <summary>@(BackupMailSettings): who gets mail, and how.</summary>
    public Microsoft.Build.Framework.ITaskItem? MailSettings { get; set; }

    protected Mailer? Mail { get; private set; }
    protected TimeSpan LockWait { get; private set; }

    /// <summary>Reads the shared settings into <paramref name="problems"/> and returns the ssh defaults.</summary>
    protected SshDefaults? LoadShared(Problems problems)
    {
        Mail = Mailer.Parse(MailSettings, problems);
        LockWait = Settings.RunSettings.Parse(RunSettings, problems)?.LockWait ?? TimeSpan.Zero;
        return SshDefaults.Read(SshSettings, problems);
    }

    /// <summary>Mails the administrators; a mail that cannot be sent is a warning, never the reason a run fails.</summary>
    protected void Notify(string subject, string body)
    {
        if (Mail is not { Configured: true }) return;
        var failure = Mail.Send(subject, body);
        if (failure != null) Log.LogWarningWithCodeFromResources("Mail.Failed", string.Join(", ", Mail.To), failure);
    }
}
