using BackupBuild.Tasks.Import;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Import;

/// <summary>The ImportCedarConfig task: what it writes, what it warns about, what it refuses.</summary>
public class ImportCedarConfigTests
{
    private static (bool Ok, FakeBuildEngine Engine) Import(string config, string output, bool overwrite = false, string peer = "",
        string version = "1.0.0", string feed = "/srv/nuget", string projectDirectory = "")
    {
        var engine = new FakeBuildEngine();
        var task = new ImportCedarConfig
        {
            BuildEngine = engine, CedarConfig = config, OutputDir = output, Overwrite = overwrite,
            SdkVersion = version, Feed = feed, ProjectDirectory = projectDirectory, PeerName = peer,
        };
        return (task.Execute(), engine);
    }

    private static string Fixture(string relative) => Path.Combine(CedarFixtureVerdictTests.Fixtures, relative);

    [Fact]
    public void The_full_upstream_configuration_becomes_a_project_and_a_file_per_peer_with_coded_warnings()
    {
        using var t = new TempDir();
        var package = SdkPackage.Shared;
        var (ok, engine) = Import(Fixture("upstream-tests-data/cback.conf.21"), t["out"], version: package.Version, feed: package.Feed);
        Assert.True(ok, engine.AllText);
        var files = Directory.GetFiles(t["out"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t["out"], f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { ".gitignore", "backup.proj", "nuget.config", "peers/machine1-1.props", "peers/machine1-2.props", "peers/machine2.props",
            "peers/machine3.props", "peers/machine4.props", "peers/machine5.props" }, files);

        // What runs write beside backup.proj (the run logger's copy and response file, the run log) stays out of git.
        Assert.Equal(new[] { "/obj/", "/Directory.Build.rsp", "/.backupbuild/", "/logs/" },
            File.ReadAllLines(t["out/.gitignore"]).Where(l => !l.StartsWith('#')));

        var proj = File.ReadAllText(t["out/backup.proj"]);
        Assert.Contains("<StartingDay>tuesday</StartingDay>", proj);
        Assert.Contains("<BackupUser>backup</BackupUser>", proj);
        Assert.Contains("<BackupGroup>group</BackupGroup>", proj);
        Assert.Contains("<SvnlookPath>/svnlook</SvnlookPath>", proj);
        Assert.StartsWith($"<Project Sdk=\"BackupBuild.Sdk/{package.Version}\">", proj);
        Assert.DoesNotContain("<Import", proj); // the SDK imports the defaults, peers/*.props and the targets
        Assert.Contains($"<add key=\"backupbuild\" value=\"{package.Feed}\" />", File.ReadAllText(t["out/nuget.config"]));
        // The master's own peer (its collect dir is the collect section's) holds the collect items and hooks.
        var master = File.ReadAllText(t["out/peers/machine1-1.props"]);
        Assert.Contains("Condition=\"'$(BackupPeer)' == 'machine1-1'\"", master);
        Assert.Contains("<CollectDirectory Include=\"/ken\" LinkDepth=\"1\" Dereference=\"true\" />", master);
        Assert.Contains("<ActionHook Include=\"cedar-pre-collect-1\" Action=\"collect\" Phase=\"before\" Command=\"ls -l\" />", master);
        Assert.Contains("RelativeExcludePaths=\"large;backup\"", master);
        Assert.Contains("<Peer Include=\"machine4\" Type=\"remote\" CollectDir=\"/aa\" User=\"someone\" RemoteCopy=\"scp -O\" RemoteShell=\"ssh\" Managed=\"true\" />",
            File.ReadAllText(t["out/peers/machine4.props"]));

        var warnings = engine.WarningCodes.ToList();
        Assert.Contains("BKP8550", warnings); // cback_command, the mkisofs override, scsi id…
        Assert.Contains("BKP8554", warnings); // the custom extension "example"
        Assert.Contains("BKP8557", warnings); // the hook for the extension action "subversion"
        Assert.Contains("BKP8556", warnings); // scp arguments
        Assert.Contains(engine.Warnings, w => w.Message!.Contains("cb_config/options/cback_command"));
        Assert.Contains(engine.Warnings, w => w.Message!.Contains("cb_config/options/override[1]") && w.Message!.Contains("mkisofs"));

        // The generated site repository is valid MSBuild that restores BackupBuild.Sdk from its feed and evaluates.
        var r = Tool.RunWith(t["out"], SdkPackage.Environment(t["packages"]), TimeSpan.FromMinutes(5),
            "dotnet", "msbuild", t["out/backup.proj"], "-nologo", "-getItem:CollectDirectory", "-getProperty:StartingDay", "-p:BackupPeer=machine1-1");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("/var/log", r.Output);
        Assert.Contains("tuesday", r.Output);
    }

    [Fact]
    public void The_sample_maps_every_cedar_extension_and_never_writes_the_mysql_password()
    {
        using var t = new TempDir();
        const string password = "s3cret-Pa55word";
        var conf = t.File("cback3.conf", File.ReadAllText(Fixture("cback3.conf.sample"))
            .Replace("<user>mlogin</user>", $"<user>mlogin</user><password>{password}</password>"));
        var (ok, engine) = Import(conf, t["out"], peer: "master");
        Assert.True(ok, engine.AllText);
        var all = string.Concat(Directory.GetFiles(t["out"], "*", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.Contains("<SysinfoEnabled>true</SysinfoEnabled>", all);
        Assert.Contains("<EncryptRecipient>", all);
        Assert.Contains("<MysqlDatabase Include=", all);
        Assert.Contains("BKP8553", engine.WarningCodes);
        Assert.DoesNotContain(password, all);
    }

    [Fact]
    public void Existing_files_are_kept_unless_overwrite_is_set()
    {
        using var t = new TempDir();
        t.File("out/backup.proj", "mine");
        var (ok, engine) = Import(Fixture("upstream-tests-data/cback.conf.21"), t["out"]);
        Assert.False(ok);
        Assert.Contains("BKP8541", engine.ErrorCodes);
        Assert.Equal("mine", File.ReadAllText(t["out/backup.proj"]));
        Assert.False(Directory.Exists(t["out/peers"]));
        (ok, engine) = Import(Fixture("upstream-tests-data/cback.conf.21"), t["out"], overwrite: true);
        Assert.True(ok, engine.AllText);
        Assert.StartsWith("<Project", File.ReadAllText(t["out/backup.proj"]));
        Assert.Empty(Directory.GetFiles(t["out"], ".bkp-tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void External_entities_and_huge_documents_are_refused_and_nothing_is_run()
    {
        using var t = new TempDir();
        var marker = t["ran"];
        var conf = t.File("x.conf", $"""
            <?xml version="1.0"?>
            <!DOCTYPE cb_config [ <!ENTITY leak SYSTEM "file:///etc/passwd"> ]>
            <cb_config><options><starting_day>&leak;</starting_day></options></cb_config>
            """);
        var (ok, engine) = Import(conf, t["out"]);
        Assert.False(ok);
        Assert.Contains("BKP8503", engine.ErrorCodes);
        Assert.False(Directory.Exists(t["out"]));

        var big = t["big.conf"];
        using (var w = new StreamWriter(big))
        {
            w.Write("<cb_config><reference><description>");
            for (var i = 0; i < 5_000_000; i++) w.Write("xxxxxxxx");
            w.Write("</description></reference></cb_config>");
        }
        (ok, engine) = Import(big, t["out"]);
        Assert.False(ok);
        Assert.Contains("BKP8502", engine.ErrorCodes);

        // Hook commands are copied as text, never run.
        var hooked = t.File("hook.conf", $"""
            <cb_config><options><starting_day>monday</starting_day><working_dir>/tmp</working_dir>
              <backup_user>b</backup_user><backup_group>b</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>
              <pre_action_hook><action>collect</action><command>touch {marker}</command></pre_action_hook></options>
              <purge><dir><abs_path>/tmp/x</abs_path><retain_days>1</retain_days></dir></purge></cb_config>
            """);
        (ok, engine) = Import(hooked, t["out"], peer: "m");
        Assert.True(ok, engine.AllText);
        Assert.False(File.Exists(marker));
        Assert.Contains($"Command=\"touch {marker}\"", File.ReadAllText(t["out/peers/m.props"]));
    }

    [Fact]
    public void Cedars_rebuild_hook_becomes_a_RebuildMedium_hook_and_the_project_builds_by_validating()
    {
        using var t = new TempDir();
        var conf = t.File("rebuild.conf", """
            <cb_config><options><starting_day>monday</starting_day><working_dir>/tmp</working_dir>
              <backup_user>b</backup_user><backup_group>b</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>
              <pre_action_hook><action>rebuild</action><command>mount /media/cdrom</command></pre_action_hook></options>
              <purge><dir><abs_path>/tmp/x</abs_path><retain_days>1</retain_days></dir></purge></cb_config>
            """);
        var (ok, engine) = Import(conf, t["out"], peer: "m");
        Assert.True(ok, engine.AllText);
        // -t:Rebuild is MSBuild's (Clean;Build); Cedar's rebuild is -t:RebuildMedium, so is its hook's action.
        Assert.Contains("Action=\"RebuildMedium\" Phase=\"before\" Command=\"mount /media/cdrom\"", File.ReadAllText(t["out/peers/m.props"]));
        Assert.StartsWith("<Project Sdk=\"BackupBuild.Sdk/", File.ReadAllText(t["out/backup.proj"])); // Sdk.props: DefaultTargets="Build"
    }

    [Fact]
    public void A_rejected_file_writes_nothing_and_names_the_element()
    {
        using var t = new TempDir();
        var (ok, engine) = Import(Fixture("mutations/007-working_dir-relative.xml"), t["out"]);
        Assert.False(ok);
        Assert.Contains(engine.Errors, e => e.Code == "BKP8511" && e.Message!.Contains("cb_config/options/working_dir"));
        Assert.False(Directory.Exists(t["out"]));
    }

    [Fact]
    public void The_feed_and_version_are_checked_before_anything_is_written()
    {
        using var t = new TempDir();
        var conf = Fixture("upstream-tests-data/cback.conf.21");
        foreach (var (feed, version, code) in new[]
                 {
                     ("relative/feed", "1.0.0", "BKP9201"), ("ftp://example.org/feed", "1.0.0", "BKP9201"),
                     ("https://user:pw@example.org/v3/index.json", "1.0.0", "BKP9201"), ("/srv/nu\nget", "1.0.0", "BKP9201"),
                     ("/srv/nuget", "", "BKP9202"), ("/srv/nuget", "latest", "BKP9202"),
                     ("/srv/nuget", "1.0.0\" evil=\"", "BKP9202"), ("", "1.0.0", "BKP9200"),
                 })
        {
            var (ok, engine) = Import(conf, t["out"], peer: "m", version: version, feed: feed, projectDirectory: t.Path);
            Assert.False(ok, feed + " " + version);
            Assert.Contains(code, engine.ErrorCodes);
            Assert.False(Directory.Exists(t["out"]));
        }
    }

    [Fact]
    public void Without_a_feed_the_nuget_config_beside_the_running_project_is_copied()
    {
        using var t = new TempDir();
        var mine = t.File("site/nuget.config", "<configuration><packageSources><clear /><add key=\"ours\" value=\"https://nuget.example.org/v3/index.json\" /></packageSources></configuration>\n");
        var (ok, engine) = Import(Fixture("upstream-tests-data/cback.conf.21"), t["out"], version: "2.1.0-rc.1", feed: "", projectDirectory: t["site"]);
        Assert.True(ok, engine.AllText);
        Assert.Equal(File.ReadAllText(mine), File.ReadAllText(t["out/nuget.config"]));
        Assert.StartsWith("<Project Sdk=\"BackupBuild.Sdk/2.1.0-rc.1\">", File.ReadAllText(t["out/backup.proj"]));
    }
}
