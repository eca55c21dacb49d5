using System.Text.RegularExpressions;
using System.IO.Compression;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Deploy;

/// <summary>
/// The run logger as a fresh folder meets it: the first run registers it (Directory.Build.rsp, the copy in
/// .backupbuild/) and says it was not attached yet (BKP9301); from the second run on it writes every line and keeps
/// the binary logs, rotated; -noAutoResponse and a response file of the user's own are respected.
/// </summary>
public class RunLoggerTests
{
    private static BackupProject PoolOfOne(TempDir t)
    {
        t.Dir("var/collect");
        return BackupProject.PoolOfOne(t);
    }

    private static string[] Messages(string log) =>
        File.ReadAllLines(log).Select(l => l[(l.IndexOf("] ", StringComparison.Ordinal) + 2)..]).ToArray();

    private static string[] KeptBinaryLogs(BackupProject p) =>
        Directory.Exists(p.BinaryLogDir) ? Directory.GetFiles(p.BinaryLogDir).Order(StringComparer.Ordinal).ToArray() : [];

    [Fact]
    public void A_fresh_folder_registers_the_logger_in_its_first_run_and_from_the_second_run_on_the_logger_writes_every_line()
    {
        using var t = new TempDir();
        var laptop = t.Dir("laptop/collect");
        var p = PoolOfOne(t).Item("Peer", "laptop", ("Type", "local"), ("CollectDir", laptop));
        p.FreshFolder = true;
        var log = Path.Combine(p.Directory, "logs/backupbuild.log");

        // First run: nothing attached the logger (no response file yet); the run registers it and says so.
        var first = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("warning BKP9301", first.Output);
        var rsp = File.ReadAllLines(p.ResponseFile);
        Assert.Equal(BackupBuild.Tasks.Deploy.RegisterRunLogger.Header, rsp[0]);
        Assert.StartsWith("\"-logger:BackupBuild.Logging.RunLogger,%MSBuildThisFileDirectory%.backupbuild/BackupBuild.Logging.dll;Project=backup.proj;BinaryLogs=", rsp[2]);
        var copy = Path.Combine(p.Directory, ".backupbuild/BackupBuild.Logging.dll");
        Assert.Equal(File.ReadAllBytes(Repo.LoggerAssembly), File.ReadAllBytes(copy));
        var lines = Messages(log);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^INFO  run started: backup\.proj -t:Collect on " + Regex.Escape(Environment.MachineName) + @" \(BackupPeer master\) as .*, run date 2026-11-24$", lines[0]);
        Assert.StartsWith("WARN  run: BKP9301: This run was not written by BackupBuild's run logger (this is the first run in this folder).", lines[1]);
        Assert.Empty(KeptBinaryLogs(p));
        var rspTime = File.GetLastWriteTimeUtc(p.ResponseFile);

        // Second run: MSBuild read the response file when it started; every line comes from the logger.
        var second = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.NotEqual(0, second.ExitCode);
        Assert.DoesNotContain("BKP9301", second.Output);
        Assert.Equal(rspTime, File.GetLastWriteTimeUtc(p.ResponseFile)); // unchanged: not rewritten
        var kept = Assert.Single(KeptBinaryLogs(p));
        Assert.Matches(@"/\d{8}-\d{6}-\d+-Stage\.binlog$", kept);
        lines = Messages(log).Skip(2).ToArray();
        Assert.Matches(@"^INFO  run started: backup\.proj -t:Stage on " + Regex.Escape(Environment.MachineName) + @" \(BackupPeer master\) as .*, run date 2026-11-24$", lines[0]);
        Assert.Equal("INFO  Stage: started", lines[1]);
        var problem = $"BKP3023 laptop: Peer \"laptop\" was not ready to be staged: there is no cback.collect in \"{laptop}\".";
        Assert.Equal("ERROR Stage: " + problem, lines[2]);
        Assert.Equal($"ERROR Stage: failed ({problem})", lines[3]);
        Assert.Matches(@"^ERROR run ended: failed \(Stage\) after \d+\.\d s; binary log " + System.Text.RegularExpressions.Regex.Escape(kept) + "$", lines[4]);
        Assert.Equal(5, lines.Length);

        // Owner-only, whatever the umask the run started with.
        Assert.Equal(Convert.ToUInt32("600", 8), Posix.LStat(kept, out _)!.Value.Permissions);
        Assert.Equal(Convert.ToUInt32("700", 8), Posix.LStat(p.BinaryLogDir.TrimEnd('/'), out _)!.Value.Permissions);
        // The binary log replays: MSBuild reads it back, with the error in it.
        var replay = Tool.Run("dotnet", "msbuild", kept, "-noconlog", "-flp:v=diag;logfile=" + t["replay.log"]);
        Assert.True(replay.ExitCode == 0, replay.All);
        Assert.Contains("error BKP3023", File.ReadAllText(t["replay.log"]));
    }

    [Fact]
    public void Removing_the_build_output_in_obj_does_not_stop_the_next_runs()
    {
        // The response file names the logger's copy, and MSBuild refuses to start a run whose logger is missing
        // (MSB1021, before any target): were the copy in obj/, deleting build output would stop every backup.
        using var t = new TempDir();
        var p = PoolOfOne(t);
        p.FreshFolder = true;
        var first = p.Run("Purge");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("warning BKP9301", first.Output);
        Assert.True(File.Exists(Path.Combine(p.Directory, ".backupbuild/BackupBuild.Logging.dll")));
        // The folder ignores itself: a configuration repository whose .gitignore predates it never lists the copy.
        Assert.True(Tool.Run("git", "-C", p.Directory, "init", "-q").ExitCode == 0);
        var status = Tool.Run("git", "-C", p.Directory, "status", "--porcelain", "--untracked-files=all");
        Assert.True(status.ExitCode == 0, status.All);
        Assert.Contains("backup.proj", status.Output);
        Assert.DoesNotContain(".backupbuild", status.Output);
        Directory.CreateDirectory(Path.Combine(p.Directory, "obj/Release"));
        Directory.Delete(Path.Combine(p.Directory, "obj"), recursive: true);

        var second = p.Run("Purge");
        Assert.True(second.ExitCode == 0, second.All);
        Assert.DoesNotContain("MSB1021", second.Output);
        Assert.DoesNotContain("BKP9301", second.Output);
        var kept = Assert.Single(KeptBinaryLogs(p));
        Assert.Matches(@"-Purge\.binlog$", kept);
        Assert.False(Directory.Exists(Path.Combine(p.Directory, "obj")), "the run recreated obj/");
    }

    [Fact]
    public void The_last_BackupBinaryLogsKept_binary_logs_are_kept_and_noAutoResponse_runs_without_the_logger()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t).Property("BackupBinaryLogsKept", "2");
        var log = Path.Combine(p.Directory, "logs/backupbuild.log");
        for (var i = 0; i < 4; i++)
        {
            var run = p.Run("Purge");
            Assert.True(run.ExitCode == 0, run.All);
            Thread.Sleep(1100); // the names start with the second the run started
        }
        var kept = KeptBinaryLogs(p);
        Assert.Equal(2, kept.Length);
        Assert.All(kept, k => Assert.EndsWith("-Purge.binlog", k));
        var ends = Messages(log).Where(l => l.StartsWith("INFO  run ended: ")).ToList();
        Assert.Equal(4, ends.Count);
        Assert.EndsWith("; binary log " + kept[^1], ends[^1]);

        // -noAutoResponse: MSBuild reads no response file, so no logger; the run says so in its log, and warns of nothing.
        var before = Messages(log).Length;
        p.Switches.Add("-noAutoResponse");
        var bare = p.Run("Purge", "BackupRunDate=2026-11-25T01:00");
        Assert.True(bare.ExitCode == 0, bare.All);
        Assert.DoesNotContain("warning", bare.Output);
        var last = Messages(log).Skip(before).ToArray();
        Assert.Equal(2, last.Length);
        Assert.StartsWith($"INFO  run started: backup.proj -t:Purge on {Environment.MachineName} (BackupPeer master) as ", last[0]);
        Assert.StartsWith("INFO  run: -: -noAutoResponse: Directory.Build.rsp was not read", last[1]);

        // BackupBinaryLogsKept=0: none kept, the older ones go too.
        p.Switches.Clear();
        Assert.Equal(0, p.Run("Purge", "BackupBinaryLogsKept=0").ExitCode);
        Assert.Empty(KeptBinaryLogs(p));
        Assert.DoesNotContain("BinaryLogs=", File.ReadAllText(p.ResponseFile)); // and the next runs write none
    }

    [Fact]
    public void A_response_file_of_the_users_own_is_left_alone_with_BKP9303()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        p.FreshFolder = true;
        File.WriteAllText(p.ResponseFile, "-v:m\n");
        var run = p.Run("Purge");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("warning BKP9303", run.Output);
        Assert.Contains("-logger:BackupBuild.Logging.RunLogger,", run.Output); // the line to add
        Assert.Equal("-v:m\n", File.ReadAllText(p.ResponseFile));
    }

    [Fact]
    public void A_target_of_your_own_that_fails_without_a_BackupBuild_code_is_logged_with_MSBuilds_code_and_message()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t).Targets("""<Target Name="Mount"><Exec Command="echo no disk; exit 3" /></Target>""");
        var log = Path.Combine(p.Directory, "logs/backupbuild.log");
        var run = p.Run("Mount");
        Assert.NotEqual(0, run.ExitCode);
        var lines = Messages(log);
        Assert.Equal("INFO  Mount: started", lines[1]);
        Assert.StartsWith("ERROR Mount: MSB3073: The command \"echo no disk; exit 3\" exited with code 3. (" + p.ProjectPath + ", line ", lines[2]);
        Assert.StartsWith("ERROR Mount: failed (MSB3073: The command \"echo no disk; exit 3\" exited with code 3.", lines[3]);
        Assert.StartsWith("ERROR run ended: failed (Mount) after ", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains("see the build output") || l.Contains("not logged"));
    }

    [Fact]
    public void A_message_built_from_an_exception_ends_its_sentence_once_in_the_run_log()
    {
        Assert.Equal("Could not open \"/x\": Access to the path is denied. Nothing was done.",
            BackupBuild.Tasks.Deploy.RunLogLine.OneLine("Could not open \"/x\": Access to the path is denied.. Nothing was done."));
        // An ellipsis, a quoted "..", a path ending in .. and a line break are left as they are (the break as " | ").
        Assert.Equal("Wait... then \"a/..\" and b/.. here | next", BackupBuild.Tasks.Deploy.RunLogLine.OneLine("Wait... then \"a/..\" and b/.. here\nnext"));
    }

    /// <summary>What a kept binary log holds, as text: its records (decompressed) and MSBuild's diagnostic replay of it.</summary>
    public static string BinaryLogText(string binlog, string replayLog)
    {
        using var gz = new GZipStream(File.OpenRead(binlog), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        gz.CopyTo(raw);
        var replay = Tool.Run("dotnet", "msbuild", binlog, "-noconlog", "-flp:v=diag;logfile=" + replayLog);
        Assert.True(replay.ExitCode == 0, replay.All);
        return Encoding.UTF8.GetString(raw.ToArray()) + "\n" + Encoding.Unicode.GetString(raw.ToArray()) + "\n" + File.ReadAllText(replayLog);
    }
}
