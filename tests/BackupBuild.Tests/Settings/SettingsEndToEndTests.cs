using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Settings;

/// <summary>
/// The drift the settings groups removed, through the real `dotnet msbuild` and targets: for each value, `-t:Validate`
/// and each action that reads it give the same single code (or both accept it). The runs are independent projects,
/// run a few at a time.
/// </summary>
public class SettingsEndToEndTests
{
    private static readonly (string Property, string Value, string? Code, string[] Actions)[] Cases =
    {
        ("SshConnectTimeout", "abc", "BKP1100", ["Stage"]),
        ("StageParallelism", "x", "BKP1100", ["Stage"]),
        ("BackupLockWaitSeconds", "soon", "BKP1008", ["Collect", "Stage", "Store", "Purge"]),
        ("StartingDay", "Sunday", "BKP1002", ["Collect", "Purge"]),
        ("StoreDriveTimeoutSeconds", "0", "BKP1100", ["Store"]),
        ("CompressionThreads", "-1", "BKP1008", ["Collect"]),
        ("PurgeUnstagedCollect", "maybe", "BKP1006", ["Purge"]),
        ("MailSmtpPort", "smtp", "BKP1100", ["Report"]),
        ("StageParallelism", "2", null, ["Stage"]),
        ("BackupLockWaitSeconds", "0", null, ["Collect", "Purge"]),
    };

    private static readonly HashSet<string> ConfigurationCodes =
        SettingsCorpus.All.Where(e => e.Code != null).Select(e => e.Code!).Concat(new[] { "BKP1101", "BKP1102" }).ToHashSet();

    [Fact]
    public void Validate_and_the_actions_give_the_same_single_code_for_each_value()
    {
        using var temp = new TempDir();
        temp.File("src/a.txt", "a");
        var runs = Cases.SelectMany((c, i) => c.Actions.Prepend("Validate").Select(action => (Case: c, Index: i, Action: action))).ToList();
        var results = new ConcurrentDictionary<(int, string), List<string>>();
        Parallel.ForEach(runs, new ParallelOptions { MaxDegreeOfParallelism = 3 }, run =>
        {
            var dir = temp[$"p{run.Index}-{run.Action}"];
            Directory.CreateDirectory(dir);
            var project = new BackupProject(dir)
                .Property("StoreMediaType", "image").Property("StoreImageCapacity", "5 MB")
                .Item("CollectDirectory", temp["src"])
                .Item("Peer", "$(BackupPeer)", ("Type", "local"), ("CollectDir", "$(CollectDir)"))
                .Item("PurgeDirectory", "$(CollectDir)", ("RetainDays", "0"));
            var result = project.Run(run.Action, "BackupRunDate=2026-12-09T01:00", $"{run.Case.Property}={run.Case.Value}");
            // MSBuild repeats every error in its summary (with other prefixes): count each distinct error message once.
            var errors = Regex.Matches(result.All, @"error (BKP\d{4}): ([^\n]*)").Select(m => (Code: m.Groups[1].Value, Text: m.Groups[2].Value.Trim()))
                .Distinct();
            results[(run.Index, run.Action)] = errors.Select(e => e.Code).Where(ConfigurationCodes.Contains).Order().ToList();
        });

        var wrong = new List<string>();
        foreach (var ((index, action), codes) in results.OrderBy(r => r.Key.Item1))
        {
            var c = Cases[index];
            var expected = c.Code == null ? new List<string>() : new List<string> { c.Code };
            if (!codes.SequenceEqual(expected))
                wrong.Add($"-t:{action} -p:{c.Property}={c.Value}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", codes)}]");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
