using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Cedar's pre_action_hook/post_action_hook: the ActionHook items for one action and moment (Phase=before|after), in
/// the order they are listed, each Command run by /bin/sh -c (so it is a shell command line, unlike Cedar's split
/// command). A failing pre-hook stops the action before it touches anything; a failing post-hook fails the run.
/// </summary>
public sealed class RunActionHooks : BackupTask, IIncrementalTask
{
    public ITaskItem[] Hooks { get; set; } = [];
    [Required] public string Action { get; set; } = "";
    [Required] public string Phase { get; set; } = "";
    public string? WorkingDirectory { get; set; }

    public static readonly string[] Metadata = ["Action", "Phase", "Command", "Timeout"];

    /// <summary>Checks every ActionHook item (all problems, any action): Validate and each hook run call this.</summary>
    public static void Check(IEnumerable<ITaskItem> hooks, Problems problems)
    {
        foreach (var hook in hooks)
        {
            Values.UnknownMetadata(hook, "ActionHook", problems, Metadata);
            if (string.IsNullOrWhiteSpace(hook.GetMetadata("Action"))) problems.Error("Deploy.HookNoAction", hook.ItemSpec);
            var when = hook.GetMetadata("Phase").Trim().ToLowerInvariant();
            if (when is not ("before" or "after")) problems.Error("Deploy.HookBadWhen", hook.ItemSpec, hook.GetMetadata("Phase"));
            if (string.IsNullOrWhiteSpace(hook.GetMetadata("Command"))) problems.Error("Deploy.HookNoCommand", hook.ItemSpec);
            // The default (3600) is the ItemDefinitionGroup's in targets/BackupBuild.props: an empty Timeout is refused too.
            if (Timeout(hook) == null) problems.Error("Deploy.HookBadTimeout", hook.ItemSpec, hook.GetMetadata("Timeout"));
        }
    }

    private static int? Timeout(ITaskItem hook) =>
        int.TryParse(hook.GetMetadata("Timeout").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t >= 1 ? t : null;

    /// <summary>Set by MSBuild under -question (which asks what would run and changes nothing): no hook runs.</summary>
    public bool FailIfNotIncremental { get; set; }

    protected override bool Run()
    {
        if (FailIfNotIncremental) return true;
        var problems = new Problems();
        Check(Hooks, problems);
        problems.LogTo(Log);
        if (problems.HasErrors) return false;
        var before = string.Equals(Phase, "before", StringComparison.OrdinalIgnoreCase);
        foreach (var hook in Hooks.Where(h => string.Equals(h.GetMetadata("Action").Trim(), Action, StringComparison.OrdinalIgnoreCase)
                                             && string.Equals(h.GetMetadata("Phase").Trim(), Phase, StringComparison.OrdinalIgnoreCase)))
        {
            var timeout = Timeout(hook)!.Value;
            var command = hook.GetMetadata("Command");
            Progress("Deploy.HookRunning", before ? "pre" : "post", hook.ItemSpec, Action, command);
            var (exit, tail) = Execute(command, timeout);
            if (exit == 0) continue;
            var reason = exit == -1 ? BackupTask.Format("Deploy.HookTimedOutText", timeout) : "exit status " + exit;
            if (before) Log.LogErrorWithCodeFromResources("Deploy.PreHookFailed", hook.ItemSpec, Action, reason, tail);
            else Log.LogErrorWithCodeFromResources("Deploy.PostHookFailed", hook.ItemSpec, Action, reason, tail);
            return false;
        }
        return true;
    }

    /// <summary>Runs the command; the exit status (-1 when it timed out and was killed) and the last lines it printed.</summary>
    private (int Exit, string Tail) Execute(string command, int timeoutSeconds)
    {
        var lines = new Queue<string>();
        void Keep(string line)
        {
            lock (lines)
            {
                lines.Enqueue(line);
                if (lines.Count > 10) lines.Dequeue();
            }
            Log.LogMessage(MessageImportance.Normal, "  " + line);
        }
        var r = ProgramRunner.Run("/bin/sh", ["-c", command], TimeSpan.FromSeconds(timeoutSeconds), Cancellation, new ProgramOptions
        {
            WorkingDirectory = string.IsNullOrWhiteSpace(WorkingDirectory) ? Environment.CurrentDirectory : WorkingDirectory,
            Environment = new Dictionary<string, string?> { ["BACKUP_ACTION"] = Action, ["BACKUP_HOOK"] = Phase.ToLowerInvariant() },
            Lines = Keep,
        });
        return (r.TimedOut ? -1 : r.ExitCode, Tail());

        string Tail()
        {
            lock (lines) return lines.Count == 0 ? "(no output)" : string.Join(" | ", lines);
        }
    }
}
