using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>The README's first command on a copy of the checkout: builds the tasks itself, then backs up.</summary>
public class QuickStartTests
{
    [Fact]
    public void The_embedded_default_runs_from_a_clean_copy_and_then_skips_the_task_build()
    {
        using var t = new TempDir();
        var files = Tool.RunIn(Repo.Root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard");
        Assert.Equal(0, files.ExitCode);
        var copy = t.Dir("checkout");
        foreach (var rel in files.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct())
        {
            var from = Path.Combine(Repo.Root, rel);
            var to = Path.Combine(copy, rel);
            if (!File.Exists(from) && !Directory.Exists(from)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            var link = new FileInfo(from).LinkTarget;
            if (link != null) File.CreateSymbolicLink(to, link);
            else File.Copy(from, to);
        }
        var env = new Dictionary<string, string?>
        {
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
        var first = Tool.RunWith(copy, env, TimeSpan.FromMinutes(10), "dotnet", "msbuild", "backup.proj", "-t:All", "-tl:off", "-v:n");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.True(File.Exists(Path.Combine(copy, "var/media/backup.iso")), first.All);
        Assert.Contains("BackupBuild.Tasks ->", first.Output);
        // The first run built the run logger with the tasks and registered it for the next runs (it could not be
        // attached to this one): the response file beside backup.proj names the copy in .backupbuild/.
        Assert.Contains("warning BKP9301", first.Output);
        Assert.Contains("%MSBuildThisFileDirectory%.backupbuild/BackupBuild.Logging.dll", File.ReadAllText(Path.Combine(copy, "Directory.Build.rsp")));
        var log = Path.Combine(copy, "logs/backupbuild.log");
        Assert.Equal(2, File.ReadAllLines(log).Length);

        var second = Tool.RunWith(copy, env, TimeSpan.FromMinutes(10), "dotnet", "msbuild", "backup.proj", "-t:All", "-tl:off", "-v:n");
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains("Skipping target \"BuildBackupTasks\"", second.Output);
        Assert.DoesNotContain("BackupBuild.Tasks ->", second.Output);
        // The second run was written by the logger: every action's outcome, and its binary log kept.
        Assert.DoesNotContain("BKP9301", second.Output);
        var lines = File.ReadAllLines(log).Skip(2).Select(l => l[(l.IndexOf("] ", StringComparison.Ordinal) + 2)..]).ToList();
        Assert.Contains("INFO  All: started", lines);
        Assert.Contains(lines, l => l.StartsWith("INFO  Collect: succeeded", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("INFO  All: succeeded", StringComparison.Ordinal));
        Assert.Matches(@"^INFO  run ended: succeeded after .*; binary log .*/logs/backupbuild-binlogs/\d{8}-\d{6}-\d+-All\.binlog$", lines[^1]);
        Assert.Single(Directory.GetFiles(Path.Combine(copy, "logs/backupbuild-binlogs"), "*.binlog"));
        // The README's "again: nothing changed": every action's work is skipped, though Purge emptied the collect dir.
        foreach (var work in new[] { "CoreCollect", "CoreStage", "CoreStore", "CorePurge" })
            Assert.Contains($"Skipping target \"{work}\" because all output files are up-to-date", second.Output);
        var question = Tool.RunWith(copy, env, TimeSpan.FromMinutes(10), "dotnet", "msbuild", "backup.proj", "-t:All", "-question", "-tl:off", "-v:n");
        Assert.True(question.ExitCode == 0, question.All);
    }
}
