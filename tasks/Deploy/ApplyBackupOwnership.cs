using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Cedar's ownership rule: what a run wrote (collected archives and indicators, the staged day, images) is given to
/// BackupUser:BackupGroup. Does nothing while both are empty. A file that cannot be given away is a warning, as in
/// Cedar, where chown errors are logged and the run goes on.
/// </summary>
public sealed class ApplyBackupOwnership : BackupTask, IIncrementalTask
{
    public ITaskItem[] Paths { get; set; } = [];
    public string? User { get; set; }
    public string? Group { get; set; }
    /// <summary>Only check that the user and group exist (first thing in a build, before any data is touched).</summary>
    public bool CheckOnly { get; set; }

    /// <summary>Set by MSBuild under -question (which asks what would run and changes nothing): ownership is not checked or changed.</summary>
    public bool FailIfNotIncremental { get; set; }

    protected override bool Run()
    {
        if (FailIfNotIncremental) return true;
        if (string.IsNullOrWhiteSpace(User) && string.IsNullOrWhiteSpace(Group)) return true;
        var problems = new Problems();
        uint uid = Ownership.Unchanged, gid = Ownership.Unchanged;
        if (!string.IsNullOrWhiteSpace(User))
            uid = Ownership.UserId(User.Trim()) ?? Bad("Deploy.NoSuchUser", "BackupUser", User);
        if (!string.IsNullOrWhiteSpace(Group))
            gid = Ownership.GroupId(Group.Trim()) ?? Bad("Deploy.NoSuchGroup", "BackupGroup", Group);
        problems.LogTo(Log);
        if (problems.HasErrors) return false;
        if (CheckOnly) return true;

        var changed = 0;
        var warned = 0;
        foreach (var path in Paths.Select(p => p.ItemSpec.Length > 1 ? p.ItemSpec.TrimEnd('/') : p.ItemSpec).Distinct())
        {
            if (Posix.LStat(path, out _) == null) continue;
            changed += Ownership.ChangeTree(path, uid, gid, (p, error) =>
            {
                // One warning per path given, not one per file below it.
                if (warned++ < 5) Log.LogWarningWithCodeFromResources("Deploy.ChownFailed", p, User ?? "", Group ?? "", error);
            });
        }
        Detail("Deploy.Owned", changed, User ?? "", Group ?? "");
        return true;

        uint Bad(string resource, string name, string value)
        {
            problems.Error(resource, name, value);
            return Ownership.Unchanged;
        }
    }
}
