using System.Diagnostics;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;
using Xunit;

namespace BackupBuild.Tests.Infrastructure;

/// <summary>The one program runner, with real programs: exit codes, output, input, time limits and whole process trees.</summary>
public class ProgramRunnerTests
{
    /// <summary>The processes (not zombies) whose command line names <paramref name="marker"/>.</summary>
    internal static List<string> Survivors(string marker)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                if (cmdline.Contains(marker, StringComparison.Ordinal)) found.Add($"{pid}: {cmdline}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    [Fact]
    public void Exit_codes_output_and_the_end_of_standard_error_come_back()
    {
        var r = ProgramRunner.Run("/bin/sh", ["-c", "printf 'out\\n'; echo err >&2; exit 3"], TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(3, r.ExitCode);
        Assert.False(r.Succeeded);
        Assert.Equal("out\n", r.Output);
        Assert.Equal("err\n", r.Error);
        Assert.False(r.TimedOut);

        var ok = ProgramRunner.Run("true", [], TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.True(ok.Succeeded);

        var missing = ProgramRunner.Run("no-such-program-bkp", ["x"], TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.True(missing.NotStarted);
        Assert.Equal(127, missing.ExitCode);
        Assert.StartsWith("no-such-program-bkp: ", missing.Error);
    }

    [Fact]
    public void Arguments_are_passed_as_they_are_and_input_is_fed()
    {
        var odd = "a b; $(touch /tmp/never) 'q\" \\n";
        var r = ProgramRunner.Run("/bin/sh", ["-c", "printf '%s|' \"$1\"; cat", "sh", odd], TimeSpan.FromMinutes(1), CancellationToken.None,
            new ProgramOptions { Input = "from stdin", Environment = new Dictionary<string, string?> { ["BKP_X"] = "1" } });
        Assert.True(r.Succeeded, r.Error);
        Assert.Equal(odd + "|from stdin", r.Output);

        var sink = new MemoryStream();
        var streamed = ProgramRunner.Run("/bin/sh", ["-c", "head -c 300000 /dev/zero"], TimeSpan.FromMinutes(1), CancellationToken.None,
            new ProgramOptions { OutputTo = sink });
        Assert.True(streamed.Succeeded);
        Assert.Equal(300000, sink.Length);
        Assert.Empty(streamed.OutputBytes);

        var lines = new List<string>();
        var both = ProgramRunner.Run("/bin/sh", ["-c", "echo one; echo two >&2"], TimeSpan.FromMinutes(1), CancellationToken.None,
            new ProgramOptions { Lines = lines.Add });
        Assert.True(both.Succeeded);
        Assert.Equal(new[] { "one", "two" }, lines.Order());
    }

    [Fact]
    public void A_time_limit_stops_the_whole_process_tree_grandchildren_included()
    {
        using var dir = new TempDir();
        var marker = dir.File("marker");
        // The shell starts a grandchild that leaves the shell's tree (its parent subshell exits at once) and one that
        // stays below it; both hold the output pipe open. Only stopping the process group reaches the first.
        var script = $"(tail -f {marker} &) ; tail -f {marker} & sleep 1000";
        var clock = Stopwatch.StartNew();
        var r = ProgramRunner.Run("/bin/sh", ["-c", script], TimeSpan.FromSeconds(2), CancellationToken.None);
        Assert.True(r.TimedOut);
        Assert.False(r.Succeeded);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), clock.Elapsed.ToString());
        Assert.Empty(Survivors(marker));
    }

    [Fact]
    public void Cancellation_stops_a_program_that_ignores_SIGTERM_and_throws()
    {
        using var dir = new TempDir();
        var marker = dir.File("marker");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => ProgramRunner.Run("/bin/sh",
            ["-c", $"trap '' TERM; (trap '' TERM; exec tail -f {marker}) & tail -f {marker}"], TimeSpan.FromMinutes(10), cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), clock.Elapsed.ToString());
        Assert.Empty(Survivors(marker));
    }

    [Fact]
    public void Output_past_the_limit_stops_the_program()
    {
        var r = ProgramRunner.Run("cat", ["/dev/zero"], TimeSpan.FromMinutes(2), CancellationToken.None, new ProgramOptions { OutputLimit = 1 << 20 });
        Assert.True(r.Overflowed);
        Assert.Empty(r.OutputBytes);
    }

    [Fact]
    public void The_command_is_logged_without_secrets_and_a_failure_with_its_exit_code_and_error()
    {
        var log = new List<(MessageImportance, string)>();
        ProgramRunner.Run("/bin/sh", ["-c", "echo bad thing >&2; exit 4", "https://user:s3cret@example.com/repo.git", "--passphrase", "pw1",
            "--password=pw2", "hidden"], TimeSpan.FromMinutes(1), CancellationToken.None,
            new ProgramOptions { Log = (i, m) => log.Add((i, m)), SecretArguments = [6] });
        var text = string.Join("\n", log.Select(l => l.Item2));
        Assert.DoesNotContain("s3cret", text);
        Assert.DoesNotContain("pw1", text);
        Assert.DoesNotContain("pw2", text);
        Assert.DoesNotContain("hidden", text);
        Assert.Contains(log, l => l.Item1 == MessageImportance.Low && l.Item2.Contains("https://user:***@example.com/repo.git"));
        Assert.Contains(log, l => l.Item2.Contains("exited with code 4") && l.Item2.Contains("bad thing"));
    }

    [Fact]
    public void A_program_started_in_a_task_is_stopped_by_the_tasks_Cancel()
    {
        using var dir = new TempDir();
        var marker = dir.File("marker");
        var task = new SleepTask { Command = $"tail -f {marker} & tail -f {marker}", BuildEngine = new FakeBuildEngine() };
        var run = System.Threading.Tasks.Task.Run(task.Execute);
        var until = DateTime.UtcNow.AddSeconds(60);
        while (Survivors(marker).Count < 3 && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.Equal(3, Survivors(marker).Count); // the shell and its two tails
        var clock = Stopwatch.StartNew();
        task.Cancel();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
        Assert.False(run.Result);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
        Assert.Empty(Survivors(marker));
    }

    [Fact]
    public void No_task_code_starts_a_process_but_the_runner()
    {
        var starters = new System.Text.RegularExpressions.Regex(@"ProcessStartInfo|Process\.Start\(|new Process\b|\.Kill\(");
        var offenders = Directory.EnumerateFiles(Path.Combine(Repo.Root, "tasks"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/") && Path.GetFileName(f) != "ProgramRunner.cs")
            .Where(f => starters.IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Repo.Root, f)).ToList();
        Assert.Empty(offenders);
    }

    private sealed class SleepTask : BackupTask
    {
        public string Command { get; set; } = "";

        protected override bool Run() =>
            ProgramRunner.Run("/bin/sh", ["-c", Command], TimeSpan.FromMinutes(10), CancellationToken.None).Succeeded;
    }
}
