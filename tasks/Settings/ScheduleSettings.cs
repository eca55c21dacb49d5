using System.Globalization;
using BackupBuild.Tasks.Deploy;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The schedule group (item BackupScheduleSettings): where InstallSchedule writes the cron entries, who runs them, the
/// dotnet program and extra arguments, the git pull, each action's time, how often the request queue runs and as whom.
/// InstallSchedule (WriteSchedule), RemoveSchedule (the file alone) and Validate parse it here.
/// </summary>
public sealed record ScheduleSettings
{
    public const string ItemType = "BackupScheduleSettings";

    public static readonly string[] Names =
    {
        "ScheduleFile", "ScheduleUser", "ScheduleDotnet", "ScheduleArguments", "ScheduleGitPull", "ScheduleCollectTime",
        "ScheduleStageTime", "ScheduleStoreTime", "SchedulePurgeTime", "ScheduleAllTime", "ScheduleRequestSummaryTime",
        "ScheduleReportTime", "ScheduleVerifyTime", "ScheduleRequestAllTime", "ScheduleRequestsEveryMinutes", "ScheduleRequestUser",
    };

    /// <summary>The entries that always have a time, and those that "none" (or an empty -p:) leaves out, by target.</summary>
    private static readonly (string Target, string Setting)[] Times =
    {
        ("Collect", "ScheduleCollectTime"), ("Stage", "ScheduleStageTime"), ("Store", "ScheduleStoreTime"),
        ("Purge", "SchedulePurgeTime"), ("All", "ScheduleAllTime"),
    };
    private static readonly (string Target, string Setting)[] OptionalTimes =
    {
        ("RequestSummary", "ScheduleRequestSummaryTime"), ("Report", "ScheduleReportTime"), ("Verify", "ScheduleVerifyTime"),
        ("RequestAll", "ScheduleRequestAllTime"),
    };

    public required string File { get; init; }
    public required string User { get; init; }
    public required string Dotnet { get; init; }
    /// <summary>ScheduleArguments as it is; <see cref="Arguments"/> are its words.</summary>
    public required string ArgumentsText { get; init; }
    public required IReadOnlyList<string> Arguments { get; init; }
    public required bool GitPull { get; init; }
    /// <summary>Target → five cron fields; the optional entries set to none are missing.</summary>
    public required IReadOnlyDictionary<string, string> When { get; init; }
    public required int RequestsEveryMinutes { get; init; }
    public required string RequestUser { get; init; }

    /// <summary>ScheduleFile alone (RemoveSchedule): an absolute path whose name cron reads.</summary>
    public static string? ParseFile(ITaskItem? item, Problems problems)
    {
        var r = new SettingsReader(item, ItemType, problems);
        return r.Present ? ReadFile(r, problems) : null;
    }

    private static string? ReadFile(SettingsReader r, Problems problems)
    {
        var text = r.Required("ScheduleFile");
        if (text.Length == 0) return null;
        var file = Values.AbsolutePath(text, "ScheduleFile", problems);
        if (file != null && !Schedule.IsValidCronFileName(file))
        {
            problems.Error("Deploy.ScheduleFileName", file);
            return null;
        }
        return file;
    }

    /// <summary>
    /// The group, or null when anything in it is wrong. <paramref name="requestLines"/>: the machine has BackupServer or
    /// RequestClient items, so ScheduleRequestUser runs lines. <paramref name="checkUsers"/>: the users must exist here
    /// (false when Validate checks another machine's configuration).
    /// </summary>
    public static ScheduleSettings? Parse(ITaskItem? item, Problems problems, bool requestLines, bool checkUsers = true)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var file = ReadFile(r, problems);
        var user = r.Required("ScheduleUser");
        if (user.Length > 0 && (user.Any(char.IsWhiteSpace) || checkUsers && Ownership.UserId(user) == null))
            problems.Error("Deploy.NoSuchCronUser", user);
        var dotnet = ProgramPath.Required(r, "ScheduleDotnet", problems);
        var argumentsText = r.Raw("ScheduleArguments");
        var arguments = Schedule.SplitArguments(argumentsText);
        if (arguments == null) problems.Error("Deploy.ScheduleArgumentsQuote", argumentsText);
        var pull = r.Flag("ScheduleGitPull");

        var when = new Dictionary<string, string>();
        foreach (var (target, setting) in Times)
        {
            var text = r.Required(setting);
            if (text.Length == 0) continue;
            if (Schedule.ParseTime(text) is { } cron) when[target] = cron;
            else problems.Error("Deploy.BadTime", setting, text);
        }
        // Empty (only -p:Name= can empty it) or none: no line.
        foreach (var (target, setting) in OptionalTimes)
        {
            var text = r.Text(setting);
            if (text.Length == 0 || string.Equals(text, "none", StringComparison.OrdinalIgnoreCase)) continue;
            if (Schedule.ParseTime(text) is { } cron) when[target] = cron;
            else problems.Error("Deploy.BadTime", setting, text);
        }

        var everyText = r.Required("ScheduleRequestsEveryMinutes");
        var every = 0;
        if (everyText.Length > 0
            && !(int.TryParse(everyText, NumberStyles.None, CultureInfo.InvariantCulture, out every) && every is >= 1 and <= 59))
            problems.Error("Deploy.BadEvery", everyText);

        var requestUser = r.Required("ScheduleRequestUser");
        if (requestLines && requestUser.Length > 0 && requestUser != user
            && (requestUser.Any(char.IsWhiteSpace) || checkUsers && Ownership.UserId(requestUser) == null))
            problems.Error("Requests.NoRequestUser", requestUser);

        return problems.ErrorCount > before ? null : new ScheduleSettings
        {
            File = file!, User = user, Dotnet = dotnet, ArgumentsText = argumentsText, Arguments = arguments!, GitPull = pull,
            When = when, RequestsEveryMinutes = every, RequestUser = requestUser,
        };
    }
}
