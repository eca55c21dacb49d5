using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>The real Cedar Backup 3 and BackupBuild collect the same tree with the same settings.</summary>
public class CedarComparisonTests
{
    [Fact]
    public void Collect_produces_the_archives_cedar_backup_produces_with_the_same_members()
    {
        var cback3 = Tool.Require("cback3");
        using var t = new TempDir();
        // A tree with the cases Cedar's rules decide: ignore file, patterns, excluded paths, links within and
        // beyond the link depth, dereference, recursion into subdirectories.
        t.File("src/plain/a.txt", "a");
        t.File("src/plain/skip.tmp", "tmp");
        t.File("src/plain/ignored/.cbignore");
        t.File("src/plain/ignored/x.txt");
        t.File("src/plain/excluded/y.txt");
        t.File("src/plain/deep/d1/d2/z.txt", "z");
        File.CreateSymbolicLink(t["src/plain/to-a"], "a.txt");
        File.CreateSymbolicLink(t["src/plain/dangling"], "missing");
        t.File("src/elsewhere/e.txt", "e");
        t.File("src/elsewhere/more/m.txt", "m");
        t.File("src/linked/l.txt", "l");
        Directory.CreateSymbolicLink(t["src/linked/dirlink"], t["src/elsewhere"]);
        Directory.CreateDirectory(t["src/linked/inner"]);
        Directory.CreateSymbolicLink(t["src/linked/inner/dirlink2"], t["src/elsewhere"]);
        File.CreateSymbolicLink(t["src/linked/filelink"], t["src/elsewhere/e.txt"]);
        t.File("src/deref/d.txt", "d");
        File.CreateSymbolicLink(t["src/deref/filelink"], t["src/elsewhere/e.txt"]);
        Directory.CreateSymbolicLink(t["src/deref/dirlink"], t["src/elsewhere"]);
        t.File("src/split/top.txt", "top");
        t.File("src/split/a/1.txt", "1");
        t.File("src/split/b/2.txt", "2");
        t.File("src/split/b/inner/3.txt", "3");
        t.File("src/one.conf", "one");

        var cedarCollect = t.Dir("cedar/collect");
        var cedarWork = t.Dir("cedar/work");
        File.WriteAllText(t["cedar/cback3.conf"], $"""
            <?xml version="1.0"?>
            <cb_config>
              <options><starting_day>monday</starting_day><working_dir>{cedarWork}</working_dir>
                <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
              <collect><collect_dir>{cedarCollect}</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode>
                <ignore_file>.cbignore</ignore_file>
                <exclude><pattern>.*\.tmp</pattern></exclude>
                <file><abs_path>{t["src/one.conf"]}</abs_path></file>
                <dir><abs_path>{t["src/plain"]}</abs_path><exclude><rel_path>excluded</rel_path></exclude></dir>
                <dir><abs_path>{t["src/linked"]}</abs_path><link_depth>1</link_depth></dir>
                <dir><abs_path>{t["src/deref"]}</abs_path><link_depth>1</link_depth><dereference>Y</dereference></dir>
                <dir><abs_path>{t["src/split"]}</abs_path><recursion_level>1</recursion_level></dir>
              </collect>
            </cb_config>
            """);
        var cedar = Tool.Run(cback3, "-c", t["cedar/cback3.conf"], "-l", t["cedar/cback3.log"], "--full", "collect");
        Assert.True(cedar.ExitCode == 0, "cback3 failed: " + cedar.All + File.ReadAllText(t["cedar/cback3.log"]));

        var p = new BackupProject(t.Path)
            .Property("CollectMode", "daily").Property("ArchiveMode", "tar")
            .Property("CollectExcludePatterns", @".*\.tmp")
            .Item("CollectFile", t["src/one.conf"])
            .Item("CollectDirectory", t["src/plain"], ("RelativeExcludePaths", "excluded"))
            .Item("CollectDirectory", t["src/linked"], ("LinkDepth", "1"))
            .Item("CollectDirectory", t["src/deref"], ("LinkDepth", "1"), ("Dereference", "true"))
            .Item("CollectDirectory", t["src/split"], ("RecursionLevel", "1"));
        var ours = p.Run("Collect", "Full=true");
        Assert.True(ours.ExitCode == 0, ours.All);

        var cedarFiles = Directory.GetFiles(cedarCollect).Select(Path.GetFileName).OrderBy(n => n).ToList();
        // Besides Cedar's files, BackupBuild writes its manifest (paths present and archive checksums, for Restore and Verify).
        var ourFiles = Directory.GetFiles(p.CollectDir).Select(Path.GetFileName)
            .Where(n => n != Tasks.Collect.CollectManifest.FileName).OrderBy(n => n).ToList();
        Assert.Equal(cedarFiles, ourFiles);
        foreach (var name in cedarFiles.Where(n => n!.EndsWith(".tar")))
        {
            // Cedar archives a file twice when a followed link and a dereferenced target both reach it; we once.
            var expected = TarListing.Members(Path.Combine(cedarCollect, name!)).Distinct().OrderBy(m => m).ToList();
            var actual = TarListing.Members(Path.Combine(p.CollectDir, name!)).OrderBy(m => m).ToList();
            Assert.Equal(expected, actual);
        }
    }
}
