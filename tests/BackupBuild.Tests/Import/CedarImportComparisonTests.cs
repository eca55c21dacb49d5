using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Import;

/// <summary>
/// The real Cedar Backup 3 with a cback3.conf, and BackupBuild with the project imported from that same file,
/// collect the same tree into the same archive names with the same members.
/// </summary>
public class CedarImportComparisonTests
{
    [Fact]
    public void The_imported_project_collects_what_cback3_collects_with_the_original_configuration()
    {
        var cback3 = Tool.Require("cback3");
        using var t = new TempDir();
        t.File("src/plain/a.txt", "a");
        t.File("src/plain/skip.tmp", "tmp");
        t.File("src/plain/ignored/.cbignore");
        t.File("src/plain/ignored/x.txt");
        t.File("src/plain/excluded/y.txt");
        t.File("src/plain/abs-excluded/w.txt");
        t.File("src/plain/deep/d1/d2/z.txt", "z");
        t.File("src/plain/keep.log", "log");
        t.File("src/plain/drop.bak", "bak");
        File.CreateSymbolicLink(t["src/plain/to-a"], "a.txt");
        File.CreateSymbolicLink(t["src/plain/dangling"], "missing");
        t.File("src/elsewhere/e.txt", "e");
        t.File("src/elsewhere/more/m.txt", "m");
        t.File("src/linked/l.txt", "l");
        Directory.CreateSymbolicLink(t["src/linked/dirlink"], t["src/elsewhere"]);
        File.CreateSymbolicLink(t["src/linked/filelink"], t["src/elsewhere/e.txt"]);
        t.File("src/deref/d.txt", "d");
        Directory.CreateSymbolicLink(t["src/deref/dirlink"], t["src/elsewhere"]);
        t.File("src/split/top.txt", "top");
        t.File("src/split/a/1.txt", "1");
        t.File("src/split/b/2.txt", "2");
        t.File("src/split/b/.skipme/3.txt", "3");
        t.File("src/weekly/w.txt", "w");
        t.File("src/one.conf", "one");
        t.File("src/two file.txt", "two");

        var cedarCollect = t.Dir("cedar/collect");
        var cedarWork = t.Dir("cedar/work");
        var conf = t.File("cback3.conf", $"""
            <?xml version="1.0"?>
            <cb_config>
              <reference><author>test</author></reference>
              <options><starting_day>monday</starting_day><working_dir>{cedarWork}</working_dir>
                <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
              <collect><collect_dir>{cedarCollect}</collect_dir><collect_mode>daily</collect_mode><archive_mode>targz</archive_mode>
                <ignore_file>.cbignore</ignore_file>
                <exclude><pattern>.*\.tmp</pattern><abs_path>{t["src/plain/abs-excluded"]}</abs_path></exclude>
                <file><abs_path>{t["src/one.conf"]}</abs_path><archive_mode>tar</archive_mode></file>
                <file><abs_path>{t["src/two file.txt"]}</abs_path><mode>incr</mode></file>
                <dir><abs_path>{t["src/plain"]}</abs_path><archive_mode>tar</archive_mode>
                  <exclude><rel_path>excluded</rel_path><pattern>.*\.bak</pattern></exclude></dir>
                <dir><abs_path>{t["src/linked"]}</abs_path><link_depth>1</link_depth><archive_mode>tarbz2</archive_mode></dir>
                <dir><abs_path>{t["src/deref"]}</abs_path><link_depth>1</link_depth><dereference>Y</dereference><archive_mode>tar</archive_mode></dir>
                <dir><abs_path>{t["src/split"]}</abs_path><recursion_level>1</recursion_level><ignore_file>.skipme</ignore_file></dir>
                <dir><abs_path>{t["src/weekly"]}</abs_path><collect_mode>weekly</collect_mode></dir>
              </collect>
              <purge><dir><abs_path>{cedarCollect}</abs_path><retain_days>0</retain_days></dir></purge>
            </cb_config>
            """);
        var cedar = Tool.Run(cback3, "-c", conf, "-l", t["cedar/cback3.log"], "--full", "collect");
        Assert.True(cedar.ExitCode == 0, "cback3 failed: " + cedar.All + File.ReadAllText(t["cedar/cback3.log"]));

        // Import the same file with the repository's own entry point, then run Collect on the result.
        var env = new Dictionary<string, string?>
        {
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
        var common = new[] { "-nologo", "-nodeReuse:false", "-tl:off", "-v:n", "-p:BackupSkipTaskBuild=true", "-p:BackupTasksAssembly=" + Repo.TasksAssembly };
        var import = Tool.RunWith(t.Path, env, TimeSpan.FromMinutes(5), "dotnet",
            new[] { "msbuild", Path.Combine(Repo.Root, "backup.proj"), "-t:ImportCedarConfig", "-p:CedarConfig=" + conf,
                "-p:ImportOutputDir=" + t["imported"], "-p:ImportPeerName=thisbox",
                "-p:ImportFeed=" + SdkPackage.Shared.Feed, "-p:ImportSdkVersion=" + SdkPackage.Shared.Version }.Concat(common).ToArray());
        Assert.True(import.ExitCode == 0, import.All);
        Assert.Contains("BKP8556", import.Output); // rcp_command -B is not carried over: reported, not dropped silently
        Assert.True(File.Exists(t["imported/backup.proj"]));
        Assert.True(File.Exists(t["imported/peers/thisbox.props"]));

        // The same tree, our own collect and working folders (Cedar's hold its results); the imported site repository
        // runs on BackupBuild.Sdk from the feed its nuget.config names.
        var ourCollect = t.Dir("ours/collect");
        var run = Tool.RunWith(t["imported"], SdkPackage.Environment(t["packages"]), TimeSpan.FromMinutes(10), "dotnet",
            new[] { "msbuild", t["imported/backup.proj"], "-t:Collect", "-p:Full=true", "-p:BackupPeer=thisbox",
                "-p:CollectDir=" + ourCollect, "-p:WorkingDir=" + t.Dir("ours/work"), "-nologo", "-nodeReuse:false", "-tl:off", "-v:n" });
        Assert.True(run.ExitCode == 0, run.All);

        var cedarFiles = Directory.GetFiles(cedarCollect).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        // Besides Cedar's files, BackupBuild writes its manifest (paths present and archive checksums, for Restore and Verify).
        var ourFiles = Directory.GetFiles(ourCollect).Select(Path.GetFileName)
            .Where(n => n != Tasks.Collect.CollectManifest.FileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Contains("cback.collect", cedarFiles);
        Assert.True(cedarFiles.Count >= 9, string.Join(", ", cedarFiles));
        Assert.Equal(cedarFiles, ourFiles);
        foreach (var name in cedarFiles.Where(n => n!.Contains(".tar")))
        {
            // Cedar archives a file twice when a followed link and a dereferenced target both reach it; we once.
            var expected = TarListing.Members(Path.Combine(cedarCollect, name!)).Distinct().OrderBy(m => m, StringComparer.Ordinal).ToList();
            var actual = TarListing.Members(Path.Combine(ourCollect, name!)).OrderBy(m => m, StringComparer.Ordinal).ToList();
            Assert.Equal(expected, actual);
        }
    }
}
