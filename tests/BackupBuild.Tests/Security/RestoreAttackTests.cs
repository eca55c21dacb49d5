using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 6: Restore under attack and under failure. A folder inside the destination swapped for a
/// link to a canary folder outside (at the worst moment, and by a thread swapping all the time) sends nothing
/// outside; a restore killed with SIGKILL or stopped by a full disk leaves no truncated file under a final
/// name, and the re-run removes the temporary names, restores the complete tree and exits 0 only then; odd
/// members (a hard link to a symlink, a 300-byte name component) are a warning naming them and the rest is
/// restored; setuid/setgid bits and owners are restored as root and cleared/not restored otherwise, as
/// docs/actions/restore.md says. Every test checks the file system afterwards.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection("RestoreAttacks")] // the openat2 switch is process-wide
public sealed class RestoreAttackTests : IDisposable
{
    private readonly TempDir _t = new();
    private readonly List<string> _mounts = new();

    public void Dispose()
    {
        Beneath.UseOpenat2 = true;
        foreach (var m in _mounts) Tool.Run("umount", "-l", m);
        Tool.Run("rm", "-rf", _t.Path); // paths longer than PATH_MAX too
        _t.Dispose();
    }

    // ----- a name taken in a folder the restore made -----

    [Fact]
    public void A_name_taken_in_a_folder_the_restore_made_before_the_file_is_renamed_to_it_is_kept_and_told()
    {
        // Restore does not look for an existing name in a folder it made itself (it was empty): the rename that
        // never replaces (RENAME_NOREPLACE) is the check. Something taking a member's name meanwhile is kept, as
        // an existing file (BKP8013) or a folder in the way (BKP8012) is, for a small file (a writer thread), a
        // large one (the task's thread) and a link; the other members are restored, no temporary name is left.
        var src = _t.Dir("src");
        var data = _t.Dir("src/srv/data");
        foreach (var name in new[] { "a.txt", "c.txt", "d.txt" }) File.WriteAllText(Path.Combine(data, name), "archived " + name);
        RandomFile(new Random(4205), Path.Combine(data, "big.bin"), 3 << 20);
        File.CreateSymbolicLink(Path.Combine(data, "link"), "d.txt");
        var staging = StageTar(_t["staging"], src, "srv");
        var to = _t.Dir("restore");
        var dir = Path.Combine(to, "srv/data");
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles
        {
            BuildEngine = engine, Peer = "master", Destination = to, StagingDir = staging, RestoreSettings = PropsDefaults.Restore(),
            BeforeWrite = rel =>
            {
                if (rel is "srv/data/a.txt" or "srv/data/big.bin" or "srv/data/link") File.WriteAllText(Path.Combine(to, rel), "planted");
                if (rel == "srv/data/c.txt") Directory.CreateDirectory(Path.Combine(to, rel));
            },
        };
        Assert.True(task.Execute(), engine.AllText);

        foreach (var name in new[] { "a.txt", "big.bin", "link" })
        {
            Assert.Equal("planted", File.ReadAllText(Path.Combine(dir, name)));
            Assert.Contains(engine.Warnings, w => w.Code == "BKP8013" && w.Message!.Contains(Path.Combine(dir, name)));
        }
        Assert.True(Directory.Exists(Path.Combine(dir, "c.txt")));
        Assert.Contains(engine.Warnings, w => w.Code == "BKP8012" && w.Message!.Contains("srv/data/c.txt"));
        Assert.Equal("archived d.txt", File.ReadAllText(Path.Combine(dir, "d.txt")));
        Assert.Equal(4, engine.Warnings.Count(w => w.Code is "BKP8012" or "BKP8013"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(to, Beneath.TempPrefix + "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }));
        Assert.Single(task.Restored); // d.txt only
    }

    // ----- concurrent link swaps -----

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_folder_swapped_for_a_link_between_finding_it_and_writing_sends_nothing_outside(bool openat2)
    {
        Beneath.UseOpenat2 = openat2;
        var src = _t.Dir("src");
        for (var i = 0; i < 12; i++) File.WriteAllText(Path.Combine(_t.Dir("src/srv/data/sub/deep"), $"f{i:D2}.txt"), "content " + i);
        var staging = StageTar(_t["staging"], src, "srv");
        var canary = Canary();
        var before = Snapshot(canary);
        var to = _t.Dir("restore");
        var sub = Path.Combine(to, "srv/data/sub");

        // The worst moment: the member's folder was found and checked, and before the file is created the
        // folder (an ancestor of it, too) becomes a link to the canary.
        var engine = new FakeBuildEngine();
        var swaps = 0;
        var task = new RestoreFiles
        {
            BuildEngine = engine, Peer = "master", Destination = to, StagingDir = staging, RestoreSettings = PropsDefaults.Restore(),
            BeforeWrite = rel =>
            {
                if (rel != "srv/data/sub/deep/f05.txt") return;
                Directory.Move(sub, sub + ".moved");
                File.CreateSymbolicLink(sub, canary);
                swaps++;
            },
        };
        Assert.True(task.Execute(), engine.AllText);
        Assert.Equal(1, swaps);

        Assert.Equal(before, Snapshot(canary));
        // The member being written went into the folder that was found (now moved, still inside the destination).
        Assert.Equal("content 5", File.ReadAllText(Path.Combine(to, "srv/data/sub.moved/deep/f05.txt")));
        // Later members would go through the link: refused, each named.
        var refused = engine.Warnings.Where(w => w.Code == "BKP8011").ToList();
        Assert.Equal(12 - 6, refused.Count);
        Assert.Contains(refused, w => w.Message!.Contains("srv/data/sub/deep/f11.txt"));
        Assert.True(File.Exists(Path.Combine(to, "srv/data/sub.moved/deep/f04.txt")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_thread_swapping_folders_for_links_to_the_outside_all_through_a_restore_gets_nothing_written_outside(bool openat2)
    {
        Beneath.UseOpenat2 = openat2;
        var src = _t.Dir("src");
        for (var d = 0; d < 8; d++)
        for (var i = 0; i < 150; i++)
            File.WriteAllText(Path.Combine(_t.Dir($"src/srv/data/d{d}/inner"), $"f{i:D3}.txt"), $"file {d}/{i}");
        var staging = StageTar(_t["staging"], src, "srv");
        var canary = Canary();
        var before = Snapshot(canary);
        var to = _t.Dir("restore");

        using var stop = new CancellationTokenSource();
        var swaps = 0;
        var swapper = new Thread(() =>
        {
            // Again and again: a folder of the destination (the member's folder or one above it) is moved away
            // and a link to the canary takes its name, then the link goes and the restore may make the folder again.
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                foreach (var rel in new[] { "srv/data", "srv/data/d3", "srv/data/d5/inner" })
                {
                    var path = Path.Combine(to, rel);
                    try
                    {
                        if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget == null)
                            Directory.Move(path, Path.Combine(to, "away-" + n++));
                        File.CreateSymbolicLink(path, canary);
                        Interlocked.Increment(ref swaps);
                        Thread.SpinWait(2000);
                        File.Delete(path);
                    }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                }
            }
        });
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles { BuildEngine = engine, Peer = "master", Destination = to, StagingDir = staging, RestoreSettings = PropsDefaults.Restore() };
        swapper.Start();
        bool ok;
        try
        {
            ok = task.Execute();
        }
        finally
        {
            stop.Cancel();
            swapper.Join();
        }
        Assert.Equal(before, Snapshot(canary));
        Assert.True(ok, engine.AllText);
        Assert.True(swaps >= 20, $"only {swaps} swaps happened");
        Assert.Contains("BKP8011", engine.WarningCodes); // swaps landed while the restore ran: members refused
        Assert.DoesNotContain("BKP8016", engine.AllText);
        // Whatever was restored is inside the destination and whole.
        foreach (var file in Directory.EnumerateFiles(to, "*.txt", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            Assert.StartsWith("file ", File.ReadAllText(file));
        Assert.Empty(Temporaries(to));
    }

    // ----- SIGKILL and a full disk -----

    [Fact]
    public void A_restore_killed_with_SIGKILL_leaves_no_truncated_file_and_the_rerun_completes_the_tree_and_removes_temporaries()
    {
        var p = new BackupProject(_t.Path);
        var src = _t.Dir("src");
        var rng = new Random(15);
        for (var i = 0; i < 4; i++) RandomFile(rng, Path.Combine(_t.Dir("src/srv/data/big"), $"big{i}.bin"), 40 << 20);
        for (var i = 0; i < 80; i++) RandomFile(rng, Path.Combine(_t.Dir("src/srv/data/small"), $"s{i:D2}.bin"), 10_000 + i);
        StageTar(p.StagingDir, src, "srv");
        var expected = Snapshot(Path.Combine(src, "srv"));
        var to = _t["restore"];
        var props = new[] { "RestorePeer=master", "RestoreTo=" + to };

        // Two kill points: while a big file is being written under its temporary name, and after many small
        // files are in place.
        var points = new (string What, Func<bool> Now)[]
        {
            ("while a file is written", () => Temporaries(to).Any(f => new FileInfo(f).Length > 0)),
            ("after 40 small files", () => Directory.Exists(Path.Combine(to, "srv/data/small"))
                && Directory.GetFiles(Path.Combine(to, "srv/data/small"), "s*.bin").Length >= 40),
        };
        foreach (var (what, now) in points)
        {
            if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
            var log = new StringBuilder();
            bool killed;
            using (var run = p.Start(log, "Restore", props))
            {
                var clock = Stopwatch.StartNew();
                while (!run.HasExited && !now() && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(1);
                killed = !run.HasExited;
                if (killed) run.Kill(entireProcessTree: true); // SIGKILL
                run.WaitForExit();
            }
            Assert.True(killed, $"{what}: the restore ended before the kill point:\n{log}");

            // No final name holds a truncated or empty file: every one is byte-identical to the original.
            var leftTemporaries = Temporaries(to).Count;
            AssertFinalNamesComplete(to, Path.Combine(src, "srv"), what);

            var rerun = p.Run("Restore", props);
            Assert.True(rerun.ExitCode == 0, $"{what}: the re-run failed:\n{rerun.All}");
            Assert.Equal(expected, Snapshot(Path.Combine(to, "srv")));
            Assert.Empty(Temporaries(to));
            Assert.DoesNotContain("BKP8013", rerun.Output); // what the killed run finished is recognised, not "kept"
            if (leftTemporaries > 0) Assert.Contains("a temporary file an interrupted restore left", rerun.Output);
        }
    }

    [Fact]
    public void A_restore_killed_while_two_writers_fill_different_folders_leaves_no_truncated_file_and_the_rerun_completes()
    {
        // Small files in many folders: both writer threads (one per folder) are creating files when the kill lands.
        Assert.True(ParallelWrites.DefaultWorkers >= 2, "this machine has one core: one writer");
        var p = new BackupProject(_t.Path);
        var src = _t.Dir("src");
        var rng = new Random(4203);
        for (var d = 0; d < 12; d++)
        for (var i = 0; i < 150; i++)
            RandomFile(rng, Path.Combine(_t.Dir($"src/srv/data/d{d:D2}"), $"f{i:D3}.bin"), 20_000 + rng.Next(200_000));
        StageTar(p.StagingDir, src, "srv");
        var expected = Snapshot(Path.Combine(src, "srv"));
        var to = _t["restore"];
        var props = new[] { "RestorePeer=master", "RestoreTo=" + to };

        var log = new StringBuilder();
        bool killed;
        using (var run = p.Start(log, "Restore", props))
        {
            var clock = Stopwatch.StartNew();
            bool Now() => Directory.Exists(Path.Combine(to, "srv/data"))
                && Directory.GetDirectories(Path.Combine(to, "srv/data")).Length >= 4;
            while (!run.HasExited && !Now() && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(1);
            killed = !run.HasExited;
            if (killed) run.Kill(entireProcessTree: true); // SIGKILL
            run.WaitForExit();
        }
        Assert.True(killed, $"the restore ended before the kill point:\n{log}");
        AssertFinalNamesComplete(to, Path.Combine(src, "srv"), "two writers");

        var rerun = p.Run("Restore", props);
        Assert.True(rerun.ExitCode == 0, rerun.All);
        Assert.Equal(expected, Snapshot(Path.Combine(to, "srv")));
        Assert.Empty(Temporaries(to));
        Assert.DoesNotContain("BKP8013", rerun.Output);
    }

    [Fact]
    public void A_restore_onto_a_full_disk_fails_with_BKP8016_leaves_no_truncated_file_and_the_rerun_with_space_completes()
    {
        var disk = SmallDisk("restoredisk", 24);
        var p = new BackupProject(_t.Path);
        var src = _t.Dir("src");
        var rng = new Random(8016);
        for (var i = 0; i < 2; i++) RandomFile(rng, Path.Combine(_t.Dir("src/srv/data/big"), $"big{i}.bin"), 3 << 20);
        for (var i = 0; i < 60; i++) RandomFile(rng, Path.Combine(_t.Dir("src/srv/data/small"), $"s{i:D2}.bin"), 100_000 + i);
        StageTar(p.StagingDir, src, "srv");
        var expected = Snapshot(Path.Combine(src, "srv"));
        File.WriteAllBytes(Path.Combine(disk, "filler"), new byte[14 << 20]);
        var to = Path.Combine(disk, "restore");
        var props = new[] { "RestorePeer=master", "RestoreTo=" + to };

        var full = p.Run("Restore", props);
        Assert.Equal(1, full.ExitCode);
        var line = full.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8016"));
        Assert.True(line != null, "no BKP8016:\n" + full.All);
        Assert.Contains(to + "/srv/data/", line);
        Assert.Contains("No space left on device", line);
        Assert.DoesNotContain("   at ", full.Output);
        AssertFinalNamesComplete(to, Path.Combine(src, "srv"), "disk full");
        Assert.NotEqual(expected, Snapshot(Path.Combine(to, "srv"))); // the disk really was too small
        Assert.Empty(Temporaries(to));

        File.Delete(Path.Combine(disk, "filler"));
        var rerun = p.Run("Restore", props);
        Assert.True(rerun.ExitCode == 0, rerun.All);
        Assert.Equal(expected, Snapshot(Path.Combine(to, "srv")));
        Assert.Empty(Temporaries(to));
        Assert.DoesNotContain("BKP8013", rerun.Output);
    }

    // ----- odd members -----

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Odd_members_are_a_warning_naming_them_and_every_other_member_is_restored_byte_exact(bool openat2)
    {
        Beneath.UseOpenat2 = openat2;
        var python = Tool.Require("python3");
        var staging = _t["staging"];
        var archive = Path.Combine(_t.Dir("staging/2026/11/24/master"), "srv-odd.tar.gz");
        var longName = "srv/odd/" + new string('n', 300);
        // A path longer than PATH_MAX (4096 bytes) made of legal components: restored, one component at a time.
        var deep = "srv/odd/deep/" + string.Join('/', Enumerable.Range(0, 20).Select(i => $"d{i:D2}" + new string('x', 220))) + "/deep.txt";
        File.WriteAllText(_t["make.py"], $$"""
            import io, tarfile
            def add(tar, name, data=b"", kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name); info.type = kind; info.linkname = link
                info.mode = 0o640; info.mtime = 1780000000
                if kind == tarfile.REGTYPE:
                    info.size = len(data); tar.addfile(info, io.BytesIO(data))
                else:
                    tar.addfile(info)
            with tarfile.open({{Py(archive)}}, "w:gz", format=tarfile.GNU_FORMAT) as tar:
                add(tar, "srv/odd/good-before.txt", b"before\x00\xff")
                add(tar, "srv/odd/link", kind=tarfile.SYMTYPE, link="good-before.txt")
                add(tar, "srv/odd/hard-to-link", kind=tarfile.LNKTYPE, link="srv/odd/link")
                add(tar, {{Py(longName)}}, b"long")
                add(tar, {{Py(deep)}}, b"deep")
                add(tar, "srv/odd/hard-to-file", kind=tarfile.LNKTYPE, link="srv/odd/good-before.txt")
                add(tar, "srv/odd/good-after.txt", b"after")
            """);
        var made = Tool.Run(python, _t["make.py"]);
        Assert.True(made.ExitCode == 0, made.All);

        var to = _t.Dir("restore");
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles { BuildEngine = engine, Peer = "master", Destination = to, StagingDir = staging, RestoreSettings = PropsDefaults.Restore() };
        Assert.True(task.Execute(), engine.AllText);
        Assert.Empty(engine.Errors);

        var warnings = engine.Warnings.ToList();
        Assert.Contains(warnings, w => w.Code == "BKP8020" && w.Message!.Contains(longName) && w.Message!.Contains("300 bytes"));
        Assert.Contains(warnings, w => w.Code == "BKP8021" && w.Message!.Contains("srv/odd/hard-to-link") && w.Message!.Contains("srv/odd/link"));
        Assert.DoesNotContain(warnings, w => w.Code is "BKP8015" or "BKP8019");

        var odd = Path.Combine(to, "srv/odd");
        Assert.Equal(Before, File.ReadAllBytes(Path.Combine(odd, "good-before.txt")));
        Assert.Equal("good-before.txt", new FileInfo(Path.Combine(odd, "link")).LinkTarget);
        Assert.Equal(Before, File.ReadAllBytes(Path.Combine(odd, "hard-to-file")));
        Assert.Equal("after"u8.ToArray(), File.ReadAllBytes(Path.Combine(odd, "good-after.txt")));
        // The deep file is read by Python one component at a time (no path beyond PATH_MAX is needed).
        var read = Tool.Run(python, "-c", """
            import os, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            parts = sys.argv[2].split("/")
            for p in parts[:-1]: fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            sys.stdout.write(os.read(os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd), 100).decode())
            """, to, deep);
        Assert.True(read.ExitCode == 0 && read.Output == "deep", read.All);
        Assert.Equal(new[] { "deep", "good-after.txt", "good-before.txt", "hard-to-file", "link" },
            Directory.GetFileSystemEntries(odd).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("2 members refused", engine.AllText);
    }

    // ----- setuid, setgid and owners -----

    [Fact]
    public void As_root_owners_and_setuid_setgid_bits_are_restored_and_as_another_user_the_bits_are_cleared()
    {
        var python = Tool.Require("python3");
        Tool.Require("runuser");
        var p = new BackupProject(_t.Path).Property("BackupLog", "false");
        var archive = Path.Combine(p.StagingDir, "2026/11/24/master/srv-bin.tar");
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        File.WriteAllText(_t["make.py"], $$"""
            import io, tarfile
            with tarfile.open({{Py(archive)}}, "w", format=tarfile.GNU_FORMAT) as tar:
                for name, mode in [("srv/bin/suid", 0o4755), ("srv/bin/sgid", 0o2750), ("srv/bin/both", 0o6711), ("srv/bin/plain", 0o640)]:
                    info = tarfile.TarInfo(name); info.mode = mode; info.uid = 1234; info.gid = 2345; info.mtime = 1780000000
                    info.size = 4; tar.addfile(info, io.BytesIO(b"\x7fELF"))
                info = tarfile.TarInfo("srv/bin/link"); info.type = tarfile.SYMTYPE; info.linkname = "suid"
                info.uid = 1234; info.gid = 2345; info.mtime = 1780000000; tar.addfile(info)
            """);
        var made = Tool.Run(python, _t["make.py"]);
        Assert.True(made.ExitCode == 0, made.All);

        var asRoot = _t["as-root"];
        var r = p.Run("Restore", "RestorePeer=master", "RestoreTo=" + asRoot);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal("4755 1234 2345", StatOf(Path.Combine(asRoot, "srv/bin/suid")));
        Assert.Equal("2750 1234 2345", StatOf(Path.Combine(asRoot, "srv/bin/sgid")));
        Assert.Equal("6711 1234 2345", StatOf(Path.Combine(asRoot, "srv/bin/both")));
        Assert.Equal("640 1234 2345", StatOf(Path.Combine(asRoot, "srv/bin/plain")));
        Assert.Equal("1234 2345", Tool.Run("stat", "-c", "%u %g", Path.Combine(asRoot, "srv/bin/link")).Output.Trim());

        // As nobody: the files belong to nobody and setuid/setgid are cleared (the other bits are kept).
        var asUser = _t.Dir("as-user");
        var home = _t.Dir("nobody-home");
        Assert.Equal(0, Tool.Run("chown", "nobody", asUser, home).ExitCode);
        Assert.Equal(0, Tool.Run("chmod", "755", _t.Path).ExitCode);
        p.Write();
        var args = new List<string> { "-u", "nobody", "--", "env", "HOME=" + home, "DOTNET_CLI_HOME=" + home,
            "MSBUILDDISABLENODEREUSE=1", "DOTNET_CLI_USE_MSBUILD_SERVER=0", "DOTNET_NOLOGO=1",
            "dotnet", "msbuild", p.ProjectPath, "-t:Restore", "-nologo", "-nodeReuse:false", "-tl:off", "-v:n",
            "-p:RestorePeer=master", "-p:RestoreTo=" + asUser };
        var env = new Dictionary<string, string?> { ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null };
        var u = Tool.RunWith(_t.Path, env, TimeSpan.FromMinutes(10), "runuser", args.ToArray());
        Assert.True(u.ExitCode == 0, u.All);
        var nobody = Tool.Run("id", "-u", "nobody").Output.Trim() + " " + Tool.Run("id", "-g", "nobody").Output.Trim();
        Assert.Equal("755 " + nobody, StatOf(Path.Combine(asUser, "srv/bin/suid")));
        Assert.Equal("750 " + nobody, StatOf(Path.Combine(asUser, "srv/bin/sgid")));
        Assert.Equal("711 " + nobody, StatOf(Path.Combine(asUser, "srv/bin/both")));
        Assert.Equal("640 " + nobody, StatOf(Path.Combine(asUser, "srv/bin/plain")));
        Assert.Equal("\u007fELF", File.ReadAllText(Path.Combine(asUser, "srv/bin/both")));
    }

    // ----- helpers -----

    private static readonly byte[] Before = [.. "before\0"u8, 0xff];

    /// <summary>A folder outside the destination holding one file; a restore must leave it exactly so.</summary>
    private string Canary()
    {
        var canary = _t.Dir("canary");
        File.WriteAllText(Path.Combine(canary, "keep.txt"), "canary");
        return canary;
    }

    /// <summary>Archives <paramref name="top"/> of <paramref name="src"/> with GNU tar as peer master's day 2026-11-24 in a staging folder.</summary>
    private static string StageTar(string staging, string src, string top)
    {
        var day = Path.Combine(staging, "2026/11/24/master");
        Directory.CreateDirectory(day);
        var tar = Tool.Run(Tool.Require("tar"), "-C", src, "--sort=name", "-cf", Path.Combine(day, top + ".tar"), top);
        Assert.True(tar.ExitCode == 0, tar.All);
        return staging;
    }

    private static void RandomFile(Random rng, string path, int size)
    {
        var data = new byte[size];
        rng.NextBytes(data);
        File.WriteAllBytes(path, data);
    }

    /// <summary>Every entry under a folder (links not followed): kind, mode, and content hash or link target.</summary>
    private static string Snapshot(string root)
    {
        if (!Directory.Exists(root)) return "(none)";
        var lines = new List<string>();
        void Walk(string dir)
        {
            foreach (var entry in Directory.GetFileSystemEntries(dir).Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(root, entry);
                var info = new FileInfo(entry);
                if (info.LinkTarget != null) lines.Add($"L {rel} -> {info.LinkTarget}");
                else if (Directory.Exists(entry))
                {
                    lines.Add($"D {rel}");
                    Walk(entry);
                }
                else lines.Add($"F {rel} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry)))[..16]} {Convert.ToString((int)File.GetUnixFileMode(entry), 8)}");
            }
        }
        Walk(root);
        return string.Join('\n', lines);
    }

    /// <summary>Restore's temporary files anywhere under a folder.</summary>
    private static List<string> Temporaries(string root) => !Directory.Exists(root)
        ? new List<string>()
        : Directory.EnumerateFiles(root, Beneath.TempPrefix + "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).ToList();

    /// <summary>Every file under its final name below <paramref name="to"/>/srv has exactly the original's bytes.</summary>
    private static void AssertFinalNamesComplete(string to, string original, string where)
    {
        var restored = Path.Combine(to, "srv");
        if (!Directory.Exists(restored)) return;
        foreach (var file in Directory.EnumerateFiles(restored, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (Path.GetFileName(file).StartsWith(Beneath.TempPrefix)) continue;
            var source = Path.Combine(original, Path.GetRelativePath(restored, file));
            Assert.True(File.Exists(source), $"{where}: {file} has no original");
            Assert.True(File.ReadAllBytes(source).AsSpan().SequenceEqual(File.ReadAllBytes(file)),
                $"{where}: {file} is under its final name but not complete ({new FileInfo(file).Length} of {new FileInfo(source).Length} bytes)");
        }
    }

    private string SmallDisk(string name, int megabytes)
    {
        var dir = _t.Dir(name);
        var tmpfs = Tool.Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", dir);
        Assert.True(tmpfs.ExitCode == 0, "cannot mount a tmpfs (run the tests as root): " + tmpfs.All);
        _mounts.Add(dir);
        return dir;
    }

    private static string StatOf(string path) => Tool.Run("stat", "-c", "%a %u %g", path).Output.Trim();

    private static string Py(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
