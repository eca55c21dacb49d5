using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Sdk;

/// <summary>
/// BackupBuild.Sdk as a site uses it: `dotnet pack sdk` into a folder feed (<see cref="SdkPackage"/>), a site repository
/// in a temporary folder with no checkout beside it, and the real `dotnet msbuild` restoring the SDK from the feed.
/// </summary>
public class SdkPackageTests
{
    private static readonly string[] Dependencies =
    {
        "AWSSDK.Core.dll", "AWSSDK.S3.dll", "ICSharpCode.SharpZipLib.dll", "LibGit2Sharp.dll", "ZstdSharp.dll",
        "Renci.SshNet.dll", "BouncyCastle.Cryptography.dll", "Microsoft.Extensions.Logging.Abstractions.dll",
    };

    [Fact]
    public void The_package_holds_the_entry_points_every_targets_file_and_a_readytorun_task_assembly_with_its_dependencies()
    {
        var package = SdkPackage.Shared;
        using var zip = ZipFile.OpenRead(package.Nupkg);
        var entries = zip.Entries.ToDictionary(e => e.FullName);

        var nuspec = XDocument.Load(entries["BackupBuild.Sdk.nuspec"].Open());
        var ns = nuspec.Root!.Name.Namespace;
        Assert.Equal(package.Version, nuspec.Descendants(ns + "version").Single().Value);
        Assert.Contains(nuspec.Descendants(ns + "packageType"), t => (string?)t.Attribute("name") == "MSBuildSdk");
        Assert.Empty(nuspec.Descendants(ns + "dependency"));

        Assert.Contains("Sdk/Sdk.props", entries.Keys);
        Assert.Contains("Sdk/Sdk.targets", entries.Keys);
        using (var version = new StreamReader(entries["Sdk/Version.props"].Open()))
            Assert.Contains($"<BackupBuildSdkVersion>{package.Version}</BackupBuildSdkVersion>", version.ReadToEnd());

        // targets/ is packed as it is, every file (one source of truth with source mode).
        foreach (var file in Directory.GetFiles(Repo.Targets, "*", SearchOption.AllDirectories))
        {
            var name = "targets/" + Path.GetRelativePath(Repo.Targets, file);
            Assert.True(entries.ContainsKey(name), name + " is not in the package");
            using var packed = new MemoryStream();
            entries[name].Open().CopyTo(packed);
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(packed.ToArray()), name + " differs from targets/");
        }

        Assert.Contains("logger/BackupBuild.Logging.dll", entries.Keys); // the run logger RegisterRunLogger registers
        var tasks = entries.Keys.Where(k => k.StartsWith("tasks/")).Select(k => k["tasks/".Length..]).ToList();
        Assert.Contains("BackupBuild.Tasks.dll", tasks);
        foreach (var dependency in Dependencies) Assert.Contains(dependency, tasks);
        // The net10.0 build, with every dependency beside it (Sdk.props picks it under .NET 10 or later).
        Assert.Contains("net10.0/BackupBuild.Tasks.dll", tasks);
        foreach (var dependency in Dependencies) Assert.Contains("net10.0/" + dependency, tasks);
        Assert.DoesNotContain(tasks, t => t.StartsWith("Microsoft.Build", StringComparison.OrdinalIgnoreCase));
        foreach (var dll in tasks.Where(t => t.EndsWith(".dll")))
        {
            using var s = new MemoryStream();
            entries["tasks/" + dll].Open().CopyTo(s);
            s.Position = 0;
            using var pe = new PEReader(s);
            // A ReadyToRun image carries a managed native header (the READYTORUN_HEADER) besides its IL.
            Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, dll + " is not ReadyToRun");
            // ReadyToRun code for Linux marks the machine as x64 XOR the Linux value 0x7B79 (crossgen2's target OS).
            Assert.Equal((ushort)Machine.Amd64 ^ 0x7B79, (ushort)pe.PEHeaders.CoffHeader.Machine);
        }

        // The runtime uses an image's ReadyToRun code only when the image's format version is one it reads: the .NET 10
        // runtime ignores the net8.0 build's (format 9) and compiles every method as it runs. The build Sdk.props picks
        // for the running runtime has the format of that runtime's own libraries.
        var picked = Environment.Version.Major >= 10 ? "tasks/net10.0/BackupBuild.Tasks.dll" : "tasks/BackupBuild.Tasks.dll";
        using (var s = new MemoryStream())
        {
            entries[picked].Open().CopyTo(s);
            Assert.Equal(ReadyToRunMajorVersion(File.ReadAllBytes(typeof(object).Assembly.Location)), ReadyToRunMajorVersion(s.ToArray()));
        }
    }

    /// <summary>The major version of an image's READYTORUN_HEADER (the managed native header: 'RTR', major, minor).</summary>
    private static int ReadyToRunMajorVersion(byte[] image)
    {
        using var pe = new PEReader(new MemoryStream(image));
        var header = pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory;
        Assert.True(header.Size > 0, "not a ReadyToRun image");
        Assert.True(pe.PEHeaders.TryGetDirectoryOffset(header, out var offset));
        Assert.Equal(0x00525452u, BitConverter.ToUInt32(image, offset));
        return BitConverter.ToUInt16(image, offset + 4);
    }

    [Fact]
    public void A_site_repository_with_no_checkout_runs_a_day_and_a_restore_from_the_package()
    {
        using var t = new TempDir();
        var data = t.Dir("data");
        File.WriteAllText(Path.Combine(data, "hello.txt"), "hello from the site\n");
        t.Dir("data/sub");
        File.WriteAllText(Path.Combine(data, "sub/notes.txt"), "notes\n");
        var site = new SiteRepository(t["site"], SdkPackage.Shared);
        var root = t["var"] + "/";
        site.Project($"""
              <PropertyGroup>
                <BackupRoot>{root}</BackupRoot>
              </PropertyGroup>
            """);
        site.Peer("this-machine", $"""
              <ItemGroup>
                <Peer Include="$(BackupPeer)" Type="local" CollectDir="$(CollectDir)" />
                <CollectDirectory Include="{data}" />
                <PurgeDirectory Include="$(CollectDir)" RetainDays="0" />
              </ItemGroup>
            """);

        // The defaults follow the site's BackupRoot, set in the body after Sdk.props; the task assembly is the package's.
        var props = site.Run("-getProperty:CollectDir", "-getProperty:BackupTasksAssembly", "-getProperty:BackupSkipTaskBuild",
            "-getProperty:BackupBuildSdkVersion", "-getItem:Peer");
        Assert.True(props.ExitCode == 0, props.All);
        Assert.Contains($"\"CollectDir\": \"{root}collect/\"", props.Output);
        Assert.Contains($"\"BackupTasksAssembly\": \"{site.Packages}/backupbuild.sdk/{package(site)}/tasks/{(Environment.Version.Major >= 10 ? "net10.0/" : "")}BackupBuild.Tasks.dll\"", props.Output);
        Assert.Contains("\"BackupSkipTaskBuild\": \"true\"", props.Output);
        Assert.Contains($"\"BackupBuildSdkVersion\": \"{site.Package.Version}\"", props.Output);
        Assert.Contains("\"Type\": \"local\"", props.Output);

        var day = site.Run("-t:Collect;Stage;Store;Purge", "-p:BackupRunDate=2026-11-24");
        Assert.True(day.ExitCode == 0, day.All);
        Assert.DoesNotContain("BackupBuild.Tasks ->", day.Output); // nothing is compiled in a run
        var peerDirs = Directory.GetDirectories(root + "staging/2026/11/24");
        var peer = Assert.Single(peerDirs);
        Assert.Single(Directory.GetFiles(peer, "*.tar.gz"));
        Assert.True(File.Exists(Path.Combine(peer, "cback.collect")));
        Assert.True(File.Exists(root + "staging/2026/11/24/cback.store"));
        Assert.True(new FileInfo(root + "media/backup.iso").Length > 0);
        Assert.Equal(new[] { "cback.stage" }, Directory.GetFiles(root + "collect").Select(Path.GetFileName));
        // The first run registers the package's run logger for the next runs (docs/deploy.md, the log).
        Assert.Contains("BKP9301", day.Output);
        Assert.DoesNotContain("BKP9302", day.Output);
        Assert.True(File.Exists(Path.Combine(site.Directory, ".backupbuild/BackupBuild.Logging.dll")), day.All);
        Assert.Contains("-logger:BackupBuild.Logging.RunLogger", File.ReadAllText(Path.Combine(site.Directory, "Directory.Build.rsp")));

        var restored = t["restored"];
        var restore = site.Run("-t:Restore", "-p:RestoreTo=" + restored);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal("hello from the site\n", File.ReadAllText(restored + data + "/hello.txt"));
        Assert.Equal("notes\n", File.ReadAllText(restored + data + "/sub/notes.txt"));
        // The second run is written by the logger from the package, and its binary log is kept.
        var log = File.ReadAllText(Path.Combine(site.Directory, "logs/backupbuild.log"));
        Assert.Contains("Restore: succeeded", log);
        Assert.Contains("run ended: succeeded", log);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(site.Directory, "logs/backupbuild-binlogs"), "*.binlog"));

        // Only the package's own folder was restored into the site's package folder: nothing else came from anywhere.
        Assert.Equal(new[] { "backupbuild.sdk" }, Directory.GetDirectories(site.Packages).Select(Path.GetFileName));
        static string package(SiteRepository s) => s.Package.Version.ToLowerInvariant();
    }

    [Fact]
    public void The_package_ships_libgit2_for_linux_x64_only_and_a_site_loads_it_inside_msbuild()
    {
        var package = SdkPackage.Shared;
        using (var zip = ZipFile.OpenRead(package.Nupkg))
        {
            // One native libgit2, the ELF x86-64 build, beside LibGit2Sharp.dll (the linux-x64 publish puts it there):
            // none of the other eleven platforms LibGit2Sharp.NativeBinaries carries.
            var natives = zip.Entries.Where(e => (e.Name.Contains("git2", StringComparison.OrdinalIgnoreCase) && e.Name != "LibGit2Sharp.dll")
                || e.FullName.Contains("runtimes/", StringComparison.Ordinal)).ToList();
            // One in each build of the tasks (tasks/ and tasks/net10.0/).
            Assert.Equal(2, natives.Count);
            foreach (var (native, folder) in natives.OrderBy(n => n.FullName.Length).Zip(new[] { "tasks/", "tasks/net10.0/" }))
            {
                Assert.Matches("^" + folder.Replace(".", @"\.") + @"libgit2-[0-9a-f]+\.so$", native.FullName);
                using var s = native.Open();
                var header = new byte[20];
                s.ReadExactly(header);
                Assert.Equal(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2 }, header[..5]); // ELF, 64-bit
                Assert.Equal(62, BitConverter.ToUInt16(header, 18)); // EM_X86_64
                Assert.Contains(zip.Entries, e => e.FullName == folder + "LibGit2Sharp.dll");
            }
        }

        // A server's site verifies a git mirror: LibGit2Sharp and libgit2 load from the package inside MSBuild's task load context.
        using var t = new TempDir();
        Tool.Require("git");
        var work = t.Dir("work");
        Tool.Run("git", "init", "-q", "-b", "main", work);
        File.WriteAllText(Path.Combine(work, "a.txt"), "one\n");
        Assert.Equal(0, Tool.Run("git", "-C", work, "add", "a.txt").ExitCode);
        Assert.Equal(0, Tool.Run("git", "-C", work, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one").ExitCode);
        var server = t["server"] + "/";
        Directory.CreateDirectory(server + "data/web1/git/srv");
        Assert.Equal(0, Tool.Run("git", "clone", "-q", "--mirror", work, server + "data/web1/git/srv/repo.git").ExitCode);
        File.WriteAllText(server + "data/web1/git.roots", "/srv/repo.git\n");
        var site = new SiteRepository(t["site"], package);
        site.Project($"""
              <PropertyGroup>
                <BackupRoot>{t["var"]}/</BackupRoot>
                <RequestServerRoot>{server}</RequestServerRoot>
              </PropertyGroup>
            """);
        var verify = site.Run("-t:Browse", "-p:BrowseClient=web1", "-p:BrowseCommand=verify");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("Browse: 1 git mirror(s) verified, 0 damaged or not read.", verify.Output);
    }

    [Fact]
    public void The_switches_and_custom_imports_change_what_is_imported()
    {
        using var t = new TempDir();
        var site = new SiteRepository(t["site"], SdkPackage.Shared);
        site.Project($"""
              <PropertyGroup>
                <BackupRoot>{t["var"]}/</BackupRoot>
                <CustomAfterBackupBuildTargets>$(MSBuildProjectDirectory)/after.targets</CustomAfterBackupBuildTargets>
              </PropertyGroup>
              <ItemGroup>
                <MysqlDatabase Include="shop" />
              </ItemGroup>
            """);
        site.Peer("one", """<ItemGroup><Peer Include="one" Type="remote" CollectDir="/c" /></ItemGroup>""");
        File.WriteAllText(Path.Combine(site.Directory, "after.targets"),
            """<Project><PropertyGroup><SiteAfter>after: $(StagingDir)</SiteAfter></PropertyGroup></Project>""");

        var on = site.Run("-getItem:Peer", "-getProperty:CollectModulesDependsOn", "-getProperty:SiteAfter");
        Assert.True(on.ExitCode == 0, on.All);
        Assert.Contains("\"Identity\": \"one\"", on.Output);
        Assert.Contains("CollectMysql", on.Output);
        Assert.Contains($"\"SiteAfter\": \"after: {t["var"]}/staging/\"", on.Output); // imported last: sees the defaults

        var off = site.Run("-getItem:Peer", "-getProperty:CollectModulesDependsOn", "-getProperty:SiteAfter",
            "-p:EnableBackupPeers=false", "-p:EnableBackupDatabaseExtensions=false");
        Assert.True(off.ExitCode == 0, off.All);
        Assert.DoesNotContain("\"Identity\": \"one\"", off.Output);
        Assert.DoesNotContain("CollectMysql", off.Output);

        var missing = site.Run("-getProperty:BackupRoot", "-p:CustomAfterBackupBuildTargets=" + t["none.targets"]);
        Assert.True(missing.ExitCode == 0, missing.All); // a named file that does not exist is not imported, not an error
    }

    [Fact]
    public void ImportCedarConfig_run_from_a_site_repository_writes_another_that_runs_on_the_same_package()
    {
        using var t = new TempDir();
        var site = new SiteRepository(t["site"], SdkPackage.Shared);
        site.Project($"<PropertyGroup><BackupRoot>{t["var"]}/</BackupRoot></PropertyGroup>");
        var conf = Path.Combine(Import.CedarFixtureVerdictTests.Fixtures, "upstream-tests-data/cback.conf.21");
        var import = site.Run("-t:ImportCedarConfig", "-p:CedarConfig=" + conf, "-p:ImportOutputDir=" + t["imported"]);
        Assert.True(import.ExitCode == 0, import.All);
        // The feed and the version carry over: nuget.config is copied, backup.proj names the package that ran the import.
        Assert.Equal(File.ReadAllText(Path.Combine(site.Directory, "nuget.config")), File.ReadAllText(t["imported/nuget.config"]));
        Assert.StartsWith($"<Project Sdk=\"BackupBuild.Sdk/{site.Package.Version}\">", File.ReadAllText(t["imported/backup.proj"]));

        var imported = new SiteRepository(t["imported"], site.Package);
        var r = imported.Run("-getProperty:StartingDay", "-getProperty:WorkingDir", "-getItem:CollectDirectory", "-p:BackupPeer=machine1-1");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("\"StartingDay\": \"tuesday\"", r.Output);
        Assert.Contains("/var/log", r.Output);
    }

    /// <summary>
    /// The package's ReadyToRun code is the code an up-to-date run executes: the runtime lists every method it compiles
    /// while the run lasts (DOTNET_JitStdOutFile), and the task classes (which derive from MSBuild's Task and take its task
    /// items) are not among them. Before crossgen2 was given MSBuild's assemblies as references, it could precompile none
    /// of those methods, and an up-to-date -t:All compiled about 150 of BackupBuild.Tasks's methods at run time.
    /// </summary>
    [Fact]
    public void An_up_to_date_run_of_the_package_runs_the_tasks_precompiled()
    {
        using var t = new TempDir();
        var data = t.Dir("data");
        File.WriteAllText(Path.Combine(data, "a.txt"), "a\n");
        var site = new SiteRepository(t["site"], SdkPackage.Shared);
        site.Project($"<PropertyGroup><BackupRoot>{t["var"]}/</BackupRoot></PropertyGroup>");
        site.Peer("this-machine", $"""
              <ItemGroup>
                <Peer Include="$(BackupPeer)" Type="local" CollectDir="$(CollectDir)" />
                <CollectDirectory Include="{data}" CollectMode="incr" />
                <PurgeDirectory Include="$(CollectDir)" RetainDays="0" />
              </ItemGroup>
            """);
        for (var i = 0; i < 2; i++)
        {
            var r = site.Run("-t:All", "-p:BackupRunDate=2026-11-24");
            Assert.True(r.ExitCode == 0, r.All);
        }
        var env = SdkPackage.Environment(site.Packages);
        env["DOTNET_JitDisasmSummary"] = "1";
        env["DOTNET_JitStdOutFile"] = t["jit.txt"];
        var run = Tool.RunWith(site.Directory, env, TimeSpan.FromMinutes(10), "dotnet",
            "msbuild", site.ProjectPath, "-nologo", "-nodeReuse:false", "-tl:off", "-v:d", "-t:All", "-p:BackupRunDate=2026-11-24");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("nothing changed since the last collect", run.Output);
        // Each of these ran (the five tasks of an up-to-date run): "JIT compiled Namespace.Class:Method(…) [Tier…]".
        foreach (var task in new[] { "CheckPrivateFolders", "RegisterRunLogger", "WriteRunLog", "ComputeCollectStamp", "ComputeActionStamp" })
            Assert.Contains($"Task \"{task}\"", run.Output);
        var compiled = File.ReadAllLines(t["jit.txt"]).Where(l => l.Contains("JIT compiled BackupBuild.Tasks.", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(compiled, l => l.Contains(":Run()", StringComparison.Ordinal) || l.Contains("BackupTask:Execute()", StringComparison.Ordinal)
            || l.Contains(":set_", StringComparison.Ordinal) || l.Contains("Settings.", StringComparison.Ordinal));
        // What may be left: generic instantiations over the tasks' own structs and code shared with the run logger.
        Assert.True(compiled.Count <= 20, string.Join("\n", compiled));
        // The run logger is net8.0 with ReadyToRun code of the packing SDK's crossgen2 (the same runtime here): none of it
        // is compiled at run time.
        Assert.DoesNotContain(File.ReadAllLines(t["jit.txt"]), l => l.Contains("JIT compiled BackupBuild.Logging.", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_extension_file_is_imported_by_the_targets_behind_a_switch()
    {
        var targets = File.ReadAllText(Path.Combine(Repo.Targets, "BackupBuild.targets"));
        foreach (var file in Directory.GetFiles(Path.Combine(Repo.Targets, "extensions"), "*.targets"))
            Assert.Matches($"<Import Project=\"\\$\\(MSBuildThisFileDirectory\\)extensions/{Path.GetFileName(file)}\" Condition=\"'\\$\\(EnableBackup\\w+\\)' != 'false'\" />",
                targets);
    }
}
