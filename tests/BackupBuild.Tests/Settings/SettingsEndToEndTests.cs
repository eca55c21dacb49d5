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
    private static readonly (string Property, string Value, string? Code, string[] Actions, string[] Extra)[] Cases =
    {
        ("SshConnectTimeout", "abc", "BKP1100", ["Stage"], []),
        ("StageParallelism", "x", "BKP1100", ["Stage"], []),
        ("BackupLockWaitSeconds", "soon", "BKP1008", ["Collect", "Stage", "Store", "Purge"], []),
        ("StartingDay", "Sunday", "BKP1002", ["Collect", "Purge"], []),
        ("StoreDriveTimeoutSeconds", "0", "BKP1100", ["Store"], []),
        ("CompressionThreads", "-1", "BKP1008", ["Collect"], []),
        ("PurgeUnstagedCollect", "maybe", "BKP1006", ["Purge"], []),
        ("MailSmtpPort", "smtp", "BKP1100", ["Report"], []),
        ("StageParallelism", "2", null, ["Stage"], []),
        ("BackupLockWaitSeconds", "0", null, ["Collect", "Purge"], []),
        // The extensions' groups: checked when the extension is on, with the code its target gives…
        ("S3PartSize", "1 MB", "BKP6302", ["UploadStagedDayToS3"], ["S3Bucket=bucket", "S3Endpoint=http://127.0.0.1:9"]),
        ("EncryptTimeoutSeconds", "0", "BKP1100", ["EncryptStagedDays"], ["EncryptRecipient=nobody@example.org"]),
        ("SplitSize", "0", "BKP6210", ["SplitStagedDays"], ["SplitSizeLimit=1 MB"]),
        ("CapacityMaxPercentage", "101", "BKP6221", ["Store"], []),
        // …and neither costs nor complains when it is off.
        ("S3PartSize", "1 MB", null, ["Stage"], []),
        ("S3PartSize", "1 MB", null, ["Stage"], ["S3Bucket=bucket", "EnableBackupS3Extension=false"]),
        // Span, Verify, Report.
        ("SpanCushionPercent", "100", "BKP9102", ["Span"], []),
        ("VerifyFraction", "0", "BKP8101", ["Verify"], []),
        ("ReportWeeks", "0", "BKP1100", ["Report"], []),
        // The schedule, the request queue's timeouts and programs (a refused value never writes the cron file; it would go to /tmp).
        ("ScheduleRequestsEveryMinutes", "60", "BKP9005", ["InstallSchedule"], ["ScheduleFile=/tmp/bkp-settings-e2e/backupbuild"]),
        ("ScheduleDotnet", "dotnet --roll-forward", "BKP1150", ["InstallSchedule"], ["ScheduleFile=/tmp/bkp-settings-e2e/backupbuild"]),
        ("ScheduleFile", "/tmp/bkp-settings-e2e/backup.build", "BKP9003", ["InstallSchedule", "RemoveSchedule"], []),
        ("RequestPullTimeoutSeconds", "0", "BKP1100", ["ProcessRequests"], []),
        ("RequestSftpProgram", "sftp -v", "BKP1150", ["ProcessRequests"], []),
        ("StoreXorrisoPath", "xorriso|id", "BKP1150", ["Store"], []),
        // Restore's options (Find reads the gpg part), Browse's, SyncToS3's and the run log's mode: defaults in the props, checked
        // by the group's class in Validate and the action (the run log's mode at the start of every run).
        ("RestorePath", "etc/hosts", "BKP8003", ["Restore"], ["RestoreTo=/tmp/bkp-settings-e2e/restored"]),
        ("RestoreDryRun", "yes", "BKP1006", ["Restore"], ["RestoreTo=/tmp/bkp-settings-e2e/restored"]),
        ("RestoreGpgPath", "gpg --batch", "BKP1150", ["Restore", "Find"], ["RestoreTo=/tmp/bkp-settings-e2e/restored", "FindPattern=*"]),
        // Without the staged-day extensions (no EncryptGpgPath) RestoreGpgPath still has its default, gpg.
        ("EnableBackupStagedDayExtensions", "false", null, ["Find"], ["FindPattern=*"]),
        ("BrowseCommand", "delete", "BKP7050", ["Browse"], ["BrowseClient=web1"]),
        ("BrowseKeepDays", "a month", "BKP1008", ["Browse"], ["BrowseClient=web1", "BrowseCommand=prune"]),
        ("SyncUploadOnly", "-u", "BKP1006", ["SyncToS3"], ["SyncTarget=s3://bucket/x"]),
        ("BackupLogMode", "888", "BKP9020", ["Collect", "InstallSchedule"], ["ScheduleFile=/tmp/bkp-settings-e2e/backupbuild"]),
        ("BackupLogMode", "888", null, ["Collect"], ["BackupLog=false"]),
        // With S3Endpoint the props give the signing region (us-east-1); emptied, the upload and Find refuse it alike.
        ("S3Region", "", "BKP1101", ["UploadStagedDayToS3", "Find"], ["S3Bucket=bucket", "S3Endpoint=http://127.0.0.1:9", "FindPattern=*"]),
        ("S3Endpoint", "http://127.0.0.1:9", null, ["UploadStagedDayToS3"], ["S3Bucket=bucket"]),
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
            var result = project.Run(run.Action, run.Case.Extra.Prepend($"{run.Case.Property}={run.Case.Value}").Prepend("BackupRunDate=2026-12-09T01:00").ToArray());
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
                wrong.Add($"-t:{action} -p:{c.Property}={c.Value} {string.Join(" ", c.Extra.Select(e => "-p:" + e))}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", codes)}]");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Per_item_defaults_reach_the_tasks_and_an_emptied_one_is_one_code_in_Validate_and_the_action()
    {
        // The ItemDefinitionGroups of the props give every item its defaults (LinkDepth 0, Port 22, Repository…): items that
        // set none are accepted; one set to nothing is BKP1151 in Validate and in the action that reads the item.
        using var temp = new TempDir();
        temp.File("src/a.txt", "a");
        (string, string)[] server = [("Host", "backup1")], client = [("Host", "web1"), ("Folders", "/srv/www")];
        var runs = new (string Action, string Item, string Include, (string, string)[] Metadata, string? Code)[]
        {
            ("Validate", "CollectDirectory", temp["src"], [], null), ("Collect", "CollectDirectory", temp["src"], [], null),
            ("Validate", "CollectDirectory", temp["src"], [("LinkDepth", "")], "BKP1151"), ("Collect", "CollectDirectory", temp["src"], [("RecursionLevel", "")], "BKP1151"),
            ("Validate", "BackupServer", "backup1", server, null),
            ("Validate", "BackupServer", "backup1", [.. server, ("Port", "")], "BKP1151"), ("SendRequests", "BackupServer", "backup1", [.. server, ("Port", "")], "BKP1151"),
            ("Validate", "RequestClient", "web1", client, null),
            ("Validate", "RequestClient", "web1", [.. client, ("Repository", "")], "BKP1151"),
            ("ProcessRequests", "RequestClient", "web1", [.. client, ("Repository", "")], "BKP1151"),
            // The collect modules' items: Validate reads them with the module's own parser.
            ("Validate", "MboxFile", temp["mail/root"], [], null), ("Validate", "MboxFile", temp["mail/root"], [("CollectMode", "")], "BKP1151"),
            ("Collect", "MboxFile", temp["mail/root"], [("CompressMode", "")], "BKP1151"),
            ("Validate", "GitRepository", temp["repo.git"], [("CollectMode", "hourly")], "BKP6100"),
        };
        var results = new ConcurrentDictionary<int, List<string>>();
        var outputs = new ConcurrentDictionary<int, string>();
        Parallel.ForEach(Enumerable.Range(0, runs.Length), new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
        {
            var run = runs[i];
            var dir = temp[$"items{i}"];
            Directory.CreateDirectory(dir);
            var project = new BackupProject(dir).Property("StoreMediaType", "image").Property("StoreImageCapacity", "5 MB")
                .Property("RequestRoot", dir + "/requests/").Property("RequestServerRoot", dir + "/request-server/");
            if (run.Item != "CollectDirectory") project.Item("CollectDirectory", temp["src"]);
            project.Item(run.Item, run.Include, run.Metadata);
            var result = project.Run(run.Action, "BackupRunDate=2026-12-09T01:00");
            outputs[i] = result.All;
            results[i] = Regex.Matches(result.All, @"error (BKP\d{4}): ([^\n]*)").Select(m => (Code: m.Groups[1].Value, Text: m.Groups[2].Value.Trim()))
                .Distinct().Select(e => e.Code).Where(c => ConfigurationCodes.Contains(c) || c is "BKP1151" or "BKP7012" or "BKP7015" or "BKP6100").Order().ToList();
        });
        var wrong = new List<string>();
        for (var i = 0; i < runs.Length; i++)
        {
            var expected = runs[i].Code == null ? new List<string>() : [runs[i].Code!];
            if (!results[i].SequenceEqual(expected))
                wrong.Add($"-t:{runs[i].Action} {runs[i].Item} {string.Join(" ", runs[i].Metadata.Select(m => $"{m.Item1}=\"{m.Item2}\""))}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", results[i])}]\n{outputs[i]}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void A_bad_property_that_module_items_inherit_is_one_error_for_the_property_in_Validate_and_Collect()
    {
        // The ItemDefinitionGroup gives every GitRepository and MboxFile the property's mode: the parser takes it as
        // inherited, so the bad property is BKP1012 once (for the property), never BKP6100/BKP6101 for each item.
        using var temp = new TempDir();
        temp.File("src/a.txt", "a");
        temp.File("mail/root", "");
        // Collect stops at the first module that fails: one bad property per Collect run.
        var runs = new (string Action, string[] Bad)[]
        {
            ("Validate", ["GitCollectMode=hourly", "MboxCompressMode=zip"]), ("Collect", ["GitCollectMode=hourly"]), ("Collect", ["MboxCompressMode=zip"]),
        };
        foreach (var (action, bad) in runs)
        {
            var dir = temp[$"p-{action}-{bad.Length}-{bad[0][..4]}"];
            Directory.CreateDirectory(dir);
            var project = new BackupProject(dir)
                .Property("StoreMediaType", "image").Property("StoreImageCapacity", "5 MB")
                .Item("CollectDirectory", temp["src"]);
            // Only the modules whose property is bad: a module that runs fine first would fail on the missing sources.
            if (bad.Any(b => b.StartsWith("Git"))) project.Item("GitRepository", temp["nothing.git"]).Item("GitRepository", "https://example.org/x.git");
            if (bad.Any(b => b.StartsWith("Mbox"))) project.Item("MboxFile", temp["mail/root"]).Item("MboxFile", temp["mail/other"], ("CollectMode", "weekly"));
            var result = project.Run(action, bad.Prepend("BackupRunDate=2026-12-09T01:00").ToArray());
            var errors = Regex.Matches(result.All, @"error (BKP\d{4}): ([^\n]*)").Select(m => (Code: m.Groups[1].Value, Text: m.Groups[2].Value.Trim()))
                .Distinct().Where(e => e.Code is "BKP1012" or "BKP6100" or "BKP6101").ToList();
            Assert.True(errors.Count == bad.Length && errors.All(e => e.Code == "BKP1012")
                && bad.All(b => errors.Any(e => e.Text.Contains(b.Split('=')[0]))),
                $"-t:{action}: " + string.Join("\n", errors) + "\n" + result.All);
        }
    }
}
