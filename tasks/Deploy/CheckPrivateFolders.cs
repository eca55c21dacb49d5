using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Backed-up data is for the backup user (and BackupGroup) only. KeepUmask (first thing in every build, in the build's
/// own process): the process umask becomes 077 for the rest of the build, so targets of a backup's own (Exec, Copy)
/// write owner-only too. Folders (Validate: BackupRoot, CollectDir, WorkingDir, StagingDir, the image folder, the request
/// roots): each one that exists and lets other users in is warning BKP1700 naming it; its mode is left as it is.
/// </summary>
public sealed class CheckPrivateFolders : BackupTask
{
    public ITaskItem[] Folders { get; set; } = [];
    public bool KeepUmask { get; set; }

    private const uint Others = 0x7; // o=rwx

    protected override bool Run()
    {
        if (KeepUmask) PrivateFiles.KeepOwnerOnlyUmask();
        foreach (var folder in Folders.Select(f => f.ItemSpec.Trim()).Where(f => f.Length > 0)
                     .Select(f => f.Length > 1 ? f.TrimEnd('/') : f).Distinct(StringComparer.Ordinal))
        {
            if (Posix.Stat(folder, out _) is not { IsDirectory: true } s || (s.Permissions & Others) == 0) continue;
            Log.LogWarningWithCodeFromResources("Deploy.FolderOpenToOthers", folder,
                Convert.ToString(s.Permissions, 8).PadLeft(4, '0'));
        }
        return true;
    }
}
