using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The run-log group (item BackupLogSettings): the owner and mode of a newly created log file (BackupLogUser,
/// BackupLogGroup, BackupLogMode), which WriteRunLog gives the run log and InstallSchedule the request-queue log. Both
/// and Validate parse it here (Validate only with BackupLog on, as the targets run WriteRunLog only then).
/// </summary>
public sealed record LogSettings(uint User, uint Group, bool GroupGiven, uint Mode)
{
    public const string ItemType = "BackupLogSettings";
    public static readonly string[] Names = { "BackupLogUser", "BackupLogGroup", "BackupLogMode" };

    /// <summary><paramref name="checkAccounts"/>: the user and group must exist here (false when Validate checks another machine).</summary>
    public static LogSettings? Parse(ITaskItem? item, Problems problems, bool checkAccounts = true)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var modeText = r.Required("BackupLogMode");
        var mode = modeText.Length == 0 ? null : Ownership.ParseMode(modeText);
        if (modeText.Length > 0 && mode == null) problems.Error("Deploy.BadLogMode", modeText);
        uint uid = Ownership.Unchanged, gid = Ownership.Unchanged;
        var user = r.Text("BackupLogUser");
        if (user.Length > 0 && checkAccounts)
        {
            if (Ownership.UserId(user) is { } u) uid = u;
            else problems.Error("Deploy.NoSuchUser", "BackupLogUser", user);
        }
        var group = r.Text("BackupLogGroup");
        if (group.Length > 0 && checkAccounts)
        {
            if (Ownership.GroupId(group) is { } g) gid = g;
            else problems.Error("Deploy.NoSuchGroup", "BackupLogGroup", group);
        }
        return problems.ErrorCount > before ? null : new LogSettings(uid, gid, group.Length > 0, mode ?? 0);
    }
}
