using BackupBuild.Tasks.Extensions.Repositories;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>A temporary machine for the repository and mail modules: a collect dir, a working dir, and real programs.</summary>
public sealed class ModuleRig : IDisposable
{
    // 2026-11-23 is a Monday, the default start of the week.
    public const string Monday = "2026-11-23T01:00";
    public const string Tuesday = "2026-11-24T01:00";
    public const string Wednesday = "2026-11-25T01:00";

    public TempDir Temp { get; } = new();
    public FakeBuildEngine Engine { get; private set; } = new();
    public string CollectDir => Temp["var/collect"];
    public string WorkingDir => Temp["var/work"];

    /// <summary>Gives the task this rig's folders and the run date, runs it with a fresh engine.</summary>
    public bool Run(ModuleTaskBase task, string runDate, bool full = false)
    {
        Engine = new FakeBuildEngine();
        task.BuildEngine = Engine;
        task.CollectDir = CollectDir;
        task.WorkingDir = WorkingDir;
        task.RunSettings = PropsDefaults.Run(runDate, full: full ? "true" : "false");
        task.GroupSettings = PropsDefaults.Module(task.ModuleGroup, (task.ModuleGroup.Names.Single(n => n.EndsWith("TimeoutSeconds")), "120"));
        task.ProgramSettings = PropsDefaults.Programs();
        return task.Execute();
    }

    public string[] CollectFiles() =>
        Directory.Exists(CollectDir) ? Directory.GetFiles(CollectDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()! : [];

    public static Tool.Result Ok(string program, params string[] args)
    {
        var r = Tool.Run(program, args);
        Assert.True(r.ExitCode == 0, $"{program} {string.Join(' ', args)}: {r.All}");
        return r;
    }

    public void Dispose() => Temp.Dispose();
}
