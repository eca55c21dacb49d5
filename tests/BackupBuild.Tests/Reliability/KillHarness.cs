using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Kills `dotnet msbuild -t:Action` with SIGKILL (the whole process tree) at many points spread over the
/// action's own work, checks what the killed run left, re-runs it and compares the result with an
/// uninterrupted run's. The action's lock file (WorkingDir/action.lock, created when the task starts its
/// work) marks the start, so the kill points land in the task rather than in MSBuild's start-up.
/// </summary>
public sealed class KillHarness
{
    public required BackupProject Project { get; init; }
    public required string Target { get; init; }
    public required string[] Properties { get; init; }
    /// <summary>Puts the state before the run back (the lock file is removed by the harness).</summary>
    public required Action Reset { get; init; }
    /// <summary>A canonical description of the run's result, compared between runs.</summary>
    public required Func<string> Outcome { get; init; }
    /// <summary>Asserts what must hold after a kill: nothing half-written looks complete.</summary>
    public required Action<string> CheckAfterKill { get; init; }

    /// <summary>True once the task's work is done (its last output is in place or it logged its summary):
    /// the end of the span the kill points are spread over. The process's exit when not given.</summary>
    public Func<string, bool>? Done { get; init; }

    public int Points { get; init; } = 20;

    /// <summary>The task's lock name when it is not the target's (WorkingDir/name.lock).</summary>
    public string? LockName { get; init; }

    private string LockFile => Path.Combine(Project.WorkingDir, (LockName ?? Target).ToLowerInvariant() + ".lock");

    public void Run()
    {
        // The uninterrupted run: its result and how long the task's own work lasts.
        Reset();
        if (File.Exists(LockFile)) File.Delete(LockFile);
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using (var reference = Project.Start(output, Target, Properties))
        {
            var started = WaitForLock(reference) ?? throw new Xunit.Sdk.XunitException("the task never started:\n" + output);
            var ended = TimeSpan.Zero;
            while (!reference.HasExited)
            {
                if (Done != null && ended == TimeSpan.Zero && Done(Text(output))) ended = clock.Elapsed;
                Thread.Sleep(2);
            }
            reference.WaitForExit();
            Assert.True(reference.ExitCode == 0, output.ToString());
            TaskDuration = (ended == TimeSpan.Zero ? clock.Elapsed : ended) - started;
        }
        var expected = Expected = Outcome();
        Assert.True(TaskDuration > TimeSpan.FromMilliseconds(100),
            $"the {Target} task lasted only {TaskDuration.TotalMilliseconds} ms: too short to kill inside it; make the data bigger.");

        // Points 0 … Points−1 spread over 85% of the work, each killed, checked and re-run. Runs vary (a busy
        // machine): a kill that comes after the run ended does not count, the estimate of the work's length
        // shrinks and the same point is tried again, so every point lands inside a running build.
        var landed = 0;
        for (var attempt = 0; landed < Points; attempt++)
        {
            Assert.True(attempt < Points * 2, $"only {landed} of {Points} kills landed while {Target} was running");
            Reset();
            if (File.Exists(LockFile)) File.Delete(LockFile);
            var delay = TaskDuration * (0.85 * landed / Points);
            var log = new StringBuilder();
            bool killedRunning;
            using (var run = Project.Start(log, Target, Properties))
            {
                if (WaitForLock(run) == null) throw new Xunit.Sdk.XunitException($"point {landed}: the task never started:\n{log}");
                Thread.Sleep(delay);
                killedRunning = !run.HasExited;
                if (killedRunning) run.Kill(entireProcessTree: true);
                run.WaitForExit();
            }
            if (!killedRunning) TaskDuration *= 0.8;
            var where = $"{Target} killed at point {landed} ({delay.TotalMilliseconds:0} ms into {TaskDuration.TotalMilliseconds:0} ms)";
            if (!killedRunning) where = $"{Target} at point {landed}, finished before the kill";
            CheckAfterKill(where);

            var rerun = Project.Run(Target, Properties);
            Assert.True(rerun.ExitCode == 0, where + ", the re-run failed:\n" + rerun.All);
            var actual = Outcome();
            Assert.True(expected == actual, $"{where}: the re-run's result differs from an uninterrupted run's.\nexpected:\n{expected}\nactual:\n{actual}");
            if (killedRunning) landed++;
        }
        Landed = landed;
    }

    /// <summary>The uninterrupted run's <see cref="Outcome"/>.</summary>
    public string Expected { get; private set; } = "";

    public TimeSpan TaskDuration { get; private set; }

    private static string Text(System.Text.StringBuilder output)
    {
        lock (output) return output.ToString();
    }
    public int Landed { get; private set; }

    /// <summary>Time since start when the lock file appeared; null when the process exited first.</summary>
    private TimeSpan? WaitForLock(Process p)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (File.Exists(LockFile)) return clock.Elapsed;
            if (p.HasExited) return null;
            Thread.Sleep(2);
        }
        return null;
    }

    // ----- helpers shared by the kill tests -----

    public static string Sha(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes))[..16];

    public static string Sha(string file) => Sha(File.ReadAllBytes(file));

    /// <summary>Every file below a folder: path, size and SHA-256, sorted; names matching skip are left out.</summary>
    public static string Tree(string root, Func<string, bool>? skip = null)
    {
        if (!Directory.Exists(root)) return "(absent)";
        var lines = Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Where(r => skip == null || !skip(r))
            .OrderBy(r => r, StringComparer.Ordinal)
            .Select(r =>
            {
                var full = Path.Combine(root, r);
                return Directory.Exists(full) ? r + "/" : $"{r} {new FileInfo(full).Length} {Sha(full)}";
            });
        return string.Join("\n", lines);
    }

    /// <summary>Copies a folder with `cp -a` (times and modes kept) after removing the target.</summary>
    public static void CopyTree(string from, string to)
    {
        if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
        if (!Directory.Exists(from)) return;
        var r = Tool.Run("cp", "-a", from, to);
        Assert.True(r.ExitCode == 0, r.All);
    }

    private const string TarScript = """
        import sys, tarfile, hashlib
        with tarfile.open(sys.argv[1]) as t:
            for m in t.getmembers():
                h = hashlib.sha256(t.extractfile(m).read()).hexdigest()[:16] if m.isfile() else ''
                print(m.name, m.type.decode(), m.mode, m.mtime, m.size, h)
        """;

    /// <summary>Every member of an archive with its content hash, read by Python's tarfile; fails on a damaged archive.</summary>
    public static string TarContents(string archive)
    {
        var r = Tool.Run("/usr/bin/python3", "-c", TarScript, archive);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException($"python tarfile could not read {archive}: {r.Error}");
        return r.Output.TrimEnd();
    }
}
