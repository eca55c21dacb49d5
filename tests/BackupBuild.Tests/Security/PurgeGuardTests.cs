using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// The purge-guard corpus (issue 15, class 7): PurgeDirectory items that point at what Purge must never
/// empty. Each runs the real `dotnet msbuild -t:Purge` (and -t:Validate) on a generated project with
/// RetainDays 0 and old canary files everywhere, then checks the coded error AND that every canary file,
/// folder and link is still there. The root and the system folders are only ever purged inside a mount
/// namespace where the whole system is read-only except the test's own folder.
/// </summary>
public sealed class PurgeGuardTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    private static readonly DateTime Old = DateTime.UtcNow - TimeSpan.FromDays(400);

    /// <summary>
    /// {T}/proj/backup.proj (the project, BackupRoot {T}/proj/var/), CollectDirectory {T}/data/src, canaries in
    /// {T}/canary, a link {T}/proj/var/link to the canaries, a link {T}/alias to {T} and {T}/proj/var/rootlink to /.
    /// </summary>
    private BackupProject Setup()
    {
        var project = new BackupProject(_t.Dir("proj"));
        foreach (var f in new[] { "data/src/a.txt", "data/src/deep/b.txt", "canary/c.txt", "canary/sub/d.txt", "proj/var/collect/x.tar.gz",
                     "proj/var/work/state.txt", "proj/var/staging/2026/11/23/master/s.tar.gz", "proj/peers/p.props" })
            Age(_t.File(f, "canary " + f));
        _t.Dir("canary/empty");
        File.CreateSymbolicLink(_t["canary/link"], _t["data/src/a.txt"]);
        Directory.CreateSymbolicLink(_t["proj/var/link"], _t["canary"]);
        Directory.CreateSymbolicLink(_t["alias"], _t.Path);
        Directory.CreateSymbolicLink(_t["proj/var/rootlink"], "/");
        project.Item("CollectDirectory", _t["data/src"]);
        project.Write(); // backup.proj exists before the snapshot
        Age(project.ProjectPath);
        _t.Dir("top");
        return project;
    }

    // name, Include ({T} = test folder), code
    public static TheoryData<string, string, string> Corpus => new()
    {
        { "the project's folder", "{T}/proj", "BKP5031" },
        { "the project's folder with a trailing slash", "{T}/proj/", "BKP5031" },
        { "a folder holding the project", "{T}", "BKP5031" },
        { "the project's folder through .. parts", "{T}/proj/var/../../proj/var/..", "BKP5031" },
        { "the project's folder through a linked parent", "{T}/alias/proj", "BKP5031" },
        { "a symbolic link to a canary folder", "{T}/proj/var/link", "BKP5035" },
        { "a symbolic link with a trailing slash", "{T}/proj/var/link/", "BKP5035" },
        { "a symbolic link to /", "{T}/proj/var/rootlink", "BKP5035" },
        { "a CollectDirectory", "{T}/data/src", "BKP5033" },
        { "a folder holding a CollectDirectory", "{T}/data", "BKP5033" },
        { "the working dir", "{T}/proj/var/work", "BKP5034" },
        { "a folder holding the working dir", "{T}/proj/var", "BKP5034" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Purge_refuses_and_every_canary_survives(string name, string include, string code)
    {
        var project = Setup();
        project.Item("PurgeDirectory", include.Replace("{T}", _t.Path), ("RetainDays", "0"));
        var before = Canaries();

        var purge = project.Run("Purge");
        Assert.True(purge.ExitCode == 1, name + "\n" + purge.All);
        Assert.Contains("error " + code, purge.Output);
        Assert.DoesNotContain("BKP5020", purge.Output); // nothing was purged anywhere
        Same(before, Canaries());

        var validate = project.Run("Validate");
        Assert.True(validate.ExitCode == 1, name + "\n" + validate.All);
        Assert.Contains("error " + code, validate.Output);
        Same(before, Canaries());
    }

    [Fact]
    public void A_good_PurgeDirectory_next_to_refused_ones_is_not_purged_either()
    {
        var project = Setup();
        project.Item("PurgeDirectory", project.CollectDir, ("RetainDays", "0"));
        project.Item("PurgeDirectory", _t["proj/var/link"], ("RetainDays", "0"));
        var before = Canaries();

        var purge = project.Run("Purge");

        Assert.Equal(1, purge.ExitCode);
        Assert.Contains("error BKP5035", purge.Output);
        Same(before, Canaries()); // the collect dir's old archive too: refused before anything
    }

    [Fact]
    public void Purge_refuses_BackupBuilds_checkout()
    {
        // A copy of the checkout's targets in {T}/checkout, imported by a project elsewhere: purging the checkout is refused.
        Copy(Repo.Targets, _t["checkout/targets"]);
        Age(_t.File("checkout/tasks/Source.cs", "canary"));
        var project = new BackupProject(_t.Dir("proj"));
        project.Item("PurgeDirectory", _t["checkout"], ("RetainDays", "0"));
        project.Write();
        File.WriteAllText(project.ProjectPath, File.ReadAllText(project.ProjectPath).Replace(Repo.Targets, _t["checkout/targets"]));
        var before = Canaries();

        var purge = Tool.RunWith(project.Directory, MsbuildEnvironment(), TimeSpan.FromMinutes(5), "dotnet",
            "msbuild", project.ProjectPath, "-t:Purge", "-nologo", "-nodeReuse:false", "-tl:off", "-v:n");

        Assert.True(purge.ExitCode == 1, purge.All);
        Assert.Contains("error BKP5032", purge.Output);
        Same(before, Canaries());
    }

    // Validate only: these never get near a real Purge outside the confined runs below.
    [Theory]
    [InlineData("$(UndefinedPurgeRoot)/")]
    [InlineData("$(UndefinedPurgeRoot)$(AlsoUndefined)/")]
    [InlineData("$(UndefinedPurgeRoot)/tmp")]
    [InlineData("$(UndefinedPurgeRoot)/staging/")]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("/etc")]
    [InlineData("/usr/share/doc")]
    [InlineData("/var/lib")]
    [InlineData("/home/someone")]
    [InlineData("/tmp/..")]
    public void Validate_refuses_the_root_and_system_folders(string include)
    {
        var project = Setup();
        project.Raw($"""    <PurgeDirectory Include="{include}" RetainDays="0" />""");
        var before = Canaries();

        var validate = project.Run("Validate");

        Assert.True(validate.ExitCode == 1, include + "\n" + validate.All);
        Assert.Contains("error BKP5030", validate.Output);
        Same(before, Canaries());
    }

    /// <summary>
    /// Purge of "$(Undefined)/" (= /) and of "$(Undefined)/media" (a top-level folder), run where it cannot do harm:
    /// a private mount namespace in which every mount is read-only except the test folder and /media, which is
    /// the test's canary folder bound there. Had Purge listed / or /media, it would have removed the canaries
    /// (RetainDays 0, all 400 days old) and reported read-only errors (BKP5011/BKP5012) for the rest.
    /// </summary>
    [Theory]
    [InlineData("$(UndefinedPurgeRoot)/")]
    [InlineData("$(UndefinedPurgeRoot)/media")]
    [InlineData("$(UndefinedPurgeRoot)/media/")]
    public void Purge_of_the_root_or_a_top_level_folder_is_refused_before_anything_is_listed(string include)
    {
        Assert.True(Directory.Exists("/media"), "the confined test binds its canaries on /media");
        var project = Setup();
        Age(_t.File("top/e.txt", "canary"));
        project.Raw($"""    <PurgeDirectory Include="{include}" RetainDays="0" />""");
        project.Write();
        var before = Canaries();

        var purge = Confined(project, "Purge");

        Assert.True(purge.ExitCode == 1, purge.All);
        Assert.True(purge.Output.Contains("error BKP5030"), purge.All);
        foreach (var unexpected in new[] { "BKP5011", "BKP5012", "BKP5013", "BKP5020" }) Assert.DoesNotContain(unexpected, purge.Output);
        Same(before, Canaries());
    }

    /// <summary>
    /// A local user who can write in a purge folder swaps a subfolder for a link to a canary folder, over and
    /// over, while Purge runs. Purge reaches every level from the open parent without following links, so
    /// whatever the timing, nothing outside the purge folder is removed.
    /// </summary>
    [Fact]
    public void A_subfolder_swapped_for_a_link_during_the_run_leads_nowhere()
    {
        var purgeDir = _t.Dir("purge");
        for (var i = 0; i < 4000; i++) Age(_t.File($"purge/a/f{i:D4}", "x"));
        for (var i = 0; i < 2000; i++)
        {
            Age(_t.File($"purge/z/c{i:D4}", "old file in the purge folder"));
            Age(_t.File($"outside/c{i:D4}", "canary"));
        }
        var before = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(_t["outside"], before);

        using var stop = new CancellationTokenSource();
        var swaps = 0;
        var attacker = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Directory.Move(_t["purge/z"], _t["purge/zz"]);
                    Directory.CreateSymbolicLink(_t["purge/z"], _t["outside"]);
                    swaps++;
                    Thread.Sleep(1);
                    File.Delete(_t["purge/z"]);
                    Directory.Move(_t["purge/zz"], _t["purge/z"]);
                    Thread.Sleep(1);
                }
                catch (IOException) { }
            }
        });
        for (var run = 0; run < 2; run++)
        {
            var f = new Purge.PurgeFixture();
            try
            {
                new BackupBuild.Tasks.Purge.PurgeFiles
                {
                    BuildEngine = f.Engine, PurgeDirectories = new[] { Purge.PurgeFixture.Dir(purgeDir, "0") },
                    WorkingDir = f.WorkingDir, RunSettings = Support.PropsDefaults.Run(("BackupLockWaitSeconds", "5")),
                    PurgeSettings = Support.PropsDefaults.Purge(),
                }.Execute();
            }
            finally
            {
                f.Dispose();
            }
        }
        stop.Cancel();
        attacker.Wait();

        Assert.True(swaps > 0);
        Same(before, Canaries(_t["outside"]));
    }

    /// <summary>The control: in the same confinement a permitted purge does remove the canaries, so the test above would see a failed guard.</summary>
    [Fact]
    public void The_confinement_leaves_the_canaries_removable()
    {
        Assert.True(Directory.Exists("/media"), "the confined test binds its canaries on /media");
        var project = Setup();
        Age(_t.File("top/e.txt", "canary"));
        project.Item("PurgeDirectory", _t["canary"], ("RetainDays", "0"));
        project.Write();

        var purge = Confined(project, "Purge");

        Assert.True(purge.ExitCode == 0, purge.All);
        Assert.False(File.Exists(_t["canary/c.txt"]));
        Assert.False(File.Exists(_t["canary/link"]));
        Assert.True(File.Exists(_t["data/src/a.txt"])); // the link's target is not touched
    }

    [Fact]
    public void The_newest_staged_day_survives_a_run_date_years_ahead_with_a_warning()
    {
        var project = new BackupProject(_t.Path);
        var old = Age(_t.File("var/staging/2026/11/23/master/a.tar.gz", "old"), DateTime.UtcNow - TimeSpan.FromDays(20));
        var newest = Age(_t.File("var/staging/2026/12/01/master/b.tar.gz", "newest"), DateTime.UtcNow - TimeSpan.FromDays(3));
        Age(_t.File("var/staging/2026/12/01/master/cback.stage", ""), DateTime.UtcNow - TimeSpan.FromDays(3));
        project.Item("PurgeDirectory", project.StagingDir, ("RetainDays", "7"));

        var purge = project.Run("Purge", "BackupRunDate=2031-06-01T01:00");

        Assert.True(purge.ExitCode == 0, purge.All);
        Assert.Contains("warning BKP5037", purge.Output);
        Assert.Contains("BKP5038", purge.Output);
        Assert.False(File.Exists(old));                         // older days go as usual
        Assert.True(File.Exists(newest));                       // the newest day stays whole
        Assert.True(File.Exists(_t["var/staging/2026/12/01/master/cback.stage"]));
        Assert.True(Directory.Exists(_t["var/staging/2026/12/01/master"]));

        // Validate warns about the same run date; a run date in the past does not warn.
        var validate = project.Run("Validate", "BackupRunDate=2031-06-01T01:00");
        Assert.Contains("warning BKP5037", validate.Output);
        var past = project.Run("Purge", "BackupRunDate=2026-01-01T01:00");
        Assert.Equal(0, past.ExitCode);
        Assert.DoesNotContain("BKP5037", past.Output);
    }

    /// <summary>`dotnet msbuild` in a mount namespace where everything but the test folder is read-only, /media bound to {T}/top.</summary>
    private Tool.Result Confined(BackupProject project, string target)
    {
        Tool.Require("unshare");
        Tool.Require("findmnt");
        // /tmp becomes an empty tmpfs (dotnet writes there), the test folder and the checkout (which may lie
        // under /tmp too, as in a CI clone) are moved back to their own paths on top of it, /media shows
        // {T}/top, and every other mount is made read-only (the checkout too); probes prove it.
        var script = _t.File("confine.sh", """
            set -eu
            T="$1"; R="$2"; shift 2
            mount --make-rprivate /
            mount --bind "$T" /media
            mount --bind "$R" /mnt
            mount -t tmpfs -o mode=1777 bkp-confined-tmp /tmp
            mkdir -p "$T" "$R"
            mount --move /media "$T"
            mount --move /mnt "$R"
            mount --bind "$T/top" /media
            findmnt -rn -o TARGET | while read -r m; do
              m=$(printf '%b' "$m")
              case "$m" in "$T"|/media|/tmp) continue ;; esac
              # A mount of another test under /tmp is hidden by the new /tmp (unreachable, so nothing to protect).
              [ -e "$m" ] || continue
              mount -o remount,bind,ro "$m"
            done
            for probe in / /dev /dev/shm /var /usr /etc /home /root; do
              if touch "$probe/bkp-confine-probe" 2>/dev/null; then rm -f "$probe/bkp-confine-probe"; echo "$probe is still writable"; exit 97; fi
            done
            exec "$@"
            """);
        var env = MsbuildEnvironment();
        env["DOTNET_CLI_HOME"] = _t.Dir("home");
        env["HOME"] = _t["home"];
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var result = Tool.RunWith(project.Directory, env, TimeSpan.FromMinutes(5), "unshare",
            "--mount", "--propagation", "private", "sh", script, _t.Path, Repo.Root,
            "dotnet", "msbuild", project.ProjectPath, "-t:" + target, "-nologo", "-nodeReuse:false", "-tl:off", "-v:n");
        Assert.True(result.ExitCode != 97, "the confinement failed: " + result.All);
        return result;
    }

    /// <summary>Equal trees, or a failure naming what changed.</summary>
    internal static void Same(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
    {
        var changed = before.Keys.Union(after.Keys)
            .Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b)
            .Select(k => $"{k}: {(before.TryGetValue(k, out var b) ? b : "(none)")} -> {(after.TryGetValue(k, out var a) ? a : "(gone)")}")
            .ToList();
        Assert.True(changed.Count == 0, "changed on disk:\n" + string.Join("\n", changed));
    }

    private static SortedDictionary<string, string> Canaries(string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(root, result);
        return result;
    }

    /// <summary>Every canary below the test folder (links not followed): path → kind, size, mtime, link target.</summary>
    private SortedDictionary<string, string> Canaries()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var root in new[] { "data", "canary", "top", "checkout", "proj", "alias" })
            Walk(_t[root], result);
        return result;
    }

    internal static void Walk(string path, SortedDictionary<string, string> result)
    {
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path) && info.LinkTarget == null) return;
        if (path.EndsWith("/proj/logs", StringComparison.Ordinal)) return; // every run appends to its run log
        // Every run registers the run logger beside the project (its copy in .backupbuild/, Directory.Build.rsp).
        if (path.EndsWith("/proj/obj", StringComparison.Ordinal) || path.EndsWith("/proj/.backupbuild", StringComparison.Ordinal) || path.EndsWith("/proj/Directory.Build.rsp", StringComparison.Ordinal)) return;
        if (info.LinkTarget != null) result[path] = "link:" + info.LinkTarget;
        else if (Directory.Exists(path))
        {
            result[path] = "dir";
            foreach (var child in Directory.GetFileSystemEntries(path)) Walk(child, result);
        }
        else if (path.EndsWith(".proj", StringComparison.Ordinal)) result[path] = "file"; // rewritten by every run
        else result[path] = $"file:{info.Length}:{info.LastWriteTimeUtc.Ticks}";
    }

    private static Dictionary<string, string?> MsbuildEnvironment() => new()
    {
        ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
        ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
    };

    private static string Age(string path) => Age(path, Old);

    private static string Age(string path, DateTime usedUtc)
    {
        File.SetLastWriteTimeUtc(path, usedUtc);
        File.SetLastAccessTimeUtc(path, usedUtc);
        return path;
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
