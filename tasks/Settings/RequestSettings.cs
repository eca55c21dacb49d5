using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The request-queue group (item BackupRequestSettings): how long one git, rsync or sftp call may take when a client
/// sends its requests (SendRequests) and when a server pulls the data (ProcessRequests). Both tasks and Validate
/// parse it here; the programs are in the programs group (RequestGitProgram…).
/// </summary>
public sealed record RequestSettings(TimeSpan SendTimeout, TimeSpan PullTimeout)
{
    public const string ItemType = "BackupRequestSettings";
    public static readonly string[] Names = { "RequestSendTimeoutSeconds", "RequestPullTimeoutSeconds" };

    public static RequestSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var send = r.Integer("RequestSendTimeoutSeconds", 1);
        var pull = r.Integer("RequestPullTimeoutSeconds", 1);
        return problems.ErrorCount > before ? null : new RequestSettings(TimeSpan.FromSeconds(send), TimeSpan.FromSeconds(pull));
    }
}
