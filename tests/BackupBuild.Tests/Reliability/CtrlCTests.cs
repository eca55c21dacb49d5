using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using BackupBuild.Tests.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Ctrl+C in a terminal: SIGINT to the process group of `dotnet msbuild` while a program it started blocks. MSBuild
/// cancels the task, the runner stops the program's whole process group, and the run ends at once, failed, with
/// nothing half-written presented as complete and no process of the run left behind.
/// </summary>
public class CtrlCTests
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private const int SigInt = 2;

    private static BackupProject PoolOfOne(TempDir t)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        return new BackupProject(t.Path)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));
    }

    /// <summary>Waits until a process whose command line holds every one of <paramref name="words"/> runs; false after 3 minutes.</summary>
    private static bool WaitFor(Process msbuild, params string[] words)
    {
        var until = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < until && !msbuild.HasExited)
        {
            if (ProgramRunnerTests.Survivors(words[0]).Any(p => words.All(p.Contains))) return true;
            Thread.Sleep(100);
        }
        return false;
    }

    /// <summary>Sends SIGINT to the run's process group, as a terminal does; returns how long the run took to end.</summary>
    private static TimeSpan Interrupt(Process msbuild)
    {
        Thread.Sleep(1000); // the program is well under way
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Kill(-msbuild.Id, SigInt));
        Assert.True(msbuild.WaitForExit(TimeSpan.FromSeconds(60)), "dotnet msbuild did not end within 60 s of Ctrl+C");
        msbuild.WaitForExit();
        return clock.Elapsed;
    }

    private static void NothingLeft(string folder)
    {
        // A process stopped with SIGKILL may take a moment to disappear from /proc.
        var until = DateTime.UtcNow.AddSeconds(5);
        while (ProgramRunnerTests.Survivors(folder).Count > 0 && DateTime.UtcNow < until) Thread.Sleep(100);
        Assert.Empty(ProgramRunnerTests.Survivors(folder));
    }

    [Fact]
    public void Ctrl_C_stops_a_drive_write_through_xorriso_promptly()
    {
        Tool.Require("xorriso");
        using var t = new TempDir();
        t.Dir("drive");
        var disc = t["drive/disc"];
        Assert.Equal(0, Tool.Run("mkfifo", disc).ExitCode); // a drive nobody reads: xorriso's write blocks
        var p = PoolOfOne(t).Property("StoreDevice", "stdio:" + disc);
        var staged = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);

        p.OwnSession = true;
        var output = new StringBuilder();
        using var msbuild = p.Start(output, "Store", "BackupRunDate=2026-11-24T02:00");
        Assert.True(WaitFor(msbuild, disc, "-commit"), "xorriso never started writing:\n" + output);
        var took = Interrupt(msbuild);

        Assert.NotEqual(0, msbuild.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(30), $"took {took}\n{output}");
        NothingLeft(t.Path);
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")), output.ToString());
        lock (output) Assert.Contains("BKP1005", output.ToString()); // StoreDay was cancelled
    }

    [Fact]
    public void Ctrl_C_stops_an_S3_encrypt_command_and_what_it_started_promptly()
    {
        using var t = new TempDir();
        var marker = t.File("blocker", "");
        // The site's encrypt command writes part of its output, leaves a helper running in the background and blocks.
        var script = t.File("encrypt.sh", $"#!/bin/sh\necho partial > \"$2\"\ntail -f {marker} &\nexec tail -f {marker}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var p = PoolOfOne(t);
        var staged = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);

        p.OwnSession = true;
        var output = new StringBuilder();
        using var msbuild = p.Start(output, "UploadStagedDayToS3", "BackupRunDate=2026-11-24T02:00", "S3Bucket=never-contacted",
            "S3Endpoint=http://127.0.0.1:9", // encryption comes before any request
            "S3EncryptCommand=" + script + " ${input} ${output}");
        Assert.True(WaitFor(msbuild, marker, "tail"), "the encrypt command never started:\n" + output);
        var took = Interrupt(msbuild);

        Assert.NotEqual(0, msbuild.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(30), $"took {took}\n{output}");
        NothingLeft(t.Path);
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.amazons3")), output.ToString());
        Assert.False(Directory.Exists(Path.Combine(p.WorkingDir, "amazons3-encrypted")), output.ToString()); // no encrypted file left
        lock (output) Assert.Contains("BKP1005", output.ToString());
    }

    [Fact]
    public void An_S3_encrypt_command_that_runs_past_S3EncryptTimeoutSeconds_is_stopped_with_BKP9400()
    {
        using var t = new TempDir();
        var marker = t.File("blocker", "");
        var script = t.File("encrypt.sh", $"#!/bin/sh\necho partial > \"$2\"\ntail -f {marker} &\nexec tail -f {marker}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var p = PoolOfOne(t);
        var staged = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);
        string[] s3 = ["S3Bucket=never-contacted", "S3Endpoint=http://127.0.0.1:9", "S3EncryptCommand=" + script + " ${input} ${output}"];

        var bad = p.Run("UploadStagedDayToS3", ["BackupRunDate=2026-11-24T01:00", "S3EncryptTimeoutSeconds=soon", .. s3]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("S3EncryptTimeoutSeconds", bad.Output);
        Assert.Empty(ProgramRunnerTests.Survivors(marker)); // refused before the command ran

        var run = p.Run("UploadStagedDayToS3", ["BackupRunDate=2026-11-24T01:00", "S3EncryptTimeoutSeconds=2", .. s3]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP9400", run.Output);
        NothingLeft(t.Path);
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.amazons3")));
        Assert.False(Directory.Exists(Path.Combine(p.WorkingDir, "amazons3-encrypted")));
    }
}
