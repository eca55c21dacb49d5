using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Sysinfo;

/// <summary>
/// Cedar's sysinfo extension: what it takes to rebuild the machine, bzip2-compressed into CollectDir —
/// dpkg-selections.txt.bz2 (dpkg --get-selections, when dpkg is installed), fdisk-l.txt.bz2 (fdisk -l,
/// when fdisk is installed) and ls-laR.txt.bz2 (ls -laR /, whose exit status is ignored as Cedar does:
/// a file vanishing during the walk is normal).
/// </summary>
public sealed class CollectSysinfo : BackupTask
{
    [Required] public string CollectDir { get; set; } = "";

    /// <summary>@(BackupSysinfoSettings): SysinfoListingRoot (the folder ls -laR lists), SysinfoTimeoutSeconds (Settings/ModuleGroups).</summary>
    public ITaskItem? GroupSettings { get; set; }

    [Output] public ITaskItem[] Files { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var group = Settings.ModuleGroup.Sysinfo.Parse(GroupSettings, problems);
        var root = group?.ListingRoot;
        var timeout = TimeSpan.FromSeconds(group?.TimeoutSeconds ?? 1);
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || root == null) return false;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var written = new List<ITaskItem>();
        void Dump(string file, string name, string[] args, bool ignoreExit)
        {
            var program = Installed(name);
            if (program == null)
            {
                Detail("Sysinfo.NotInstalled", name, file);
                return;
            }
            var path = Path.Combine(collectDir, file);
            var outcome = DumpWriter.Write(path, DumpCompression.Bzip2, program, args,
                new Dictionary<string, string?>(), timeout, Cancellation, acceptExitCode: ignoreExit);
            if (!outcome.Succeeded)
            {
                Log.LogErrorWithCodeFromResources("Sysinfo.Failed", name + " " + string.Join(' ', args),
                    outcome.TimedOut ? "timed out" : "exit code " + outcome.ExitCode, DumpPrograms.LastLines(outcome.Error));
                return;
            }
            Progress("Sysinfo.Written", path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dump("dpkg-selections.txt.bz2", "dpkg", new[] { "--get-selections" }, ignoreExit: false);
        Dump("fdisk-l.txt.bz2", "fdisk", new[] { "-l" }, ignoreExit: false);
        Dump("ls-laR.txt.bz2", "ls", new[] { "-laR", root }, ignoreExit: true);
        Files = written.ToArray();
        return !Log.HasLoggedErrors;
    }

    // Cedar looks in /usr/bin and /sbin; look on PATH and in the sbin folders a cron PATH may lack.
    private static string? Installed(string name) =>
        DumpPrograms.OnPath(name) ?? new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
