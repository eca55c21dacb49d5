using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tests.Extensions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 2: values from a site's own configuration file (wp-config.php, LocalSettings.php) that a
/// less-trusted person can edit must not become options of the dump program that runs as root. Every attack runs
/// the real `dotnet msbuild` against a real MariaDB server, with MysqlDumpProgram pointing at a wrapper that records
/// the option file and the arguments BackupBuild gave to the real mariadb-dump; afterwards the tests look at the
/// disk: the victim file is untouched, which option files were written and what they hold.
/// </summary>
public class OptionInjectionTests : IClassFixture<MariaDbServer>
{
    private const string Row = "Hello from the site";
    private readonly MariaDbServer _server;

    public OptionInjectionTests(MariaDbServer server)
    {
        _server = server;
        _server.Sql("CREATE DATABASE IF NOT EXISTS inj_site; CREATE TABLE IF NOT EXISTS inj_site.posts (id INT PRIMARY KEY, title TEXT);" +
            $"REPLACE INTO inj_site.posts VALUES (1, '{Row}');" +
            "CREATE USER IF NOT EXISTS 'injsite'@'localhost' IDENTIFIED BY 'site-pw'; GRANT ALL ON inj_site.* TO 'injsite'@'localhost';");
    }

    /// <summary>A PHP single-quoted literal that PHP reads as exactly <paramref name="value"/>.</summary>
    private static string PhpSingle(string value) => "'" + value.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    private string WordpressSite(DumpAttackRig rig, string name, string user, string password, string host)
    {
        rig.Dir.File("www/blog/index.php", "<?php require 'wp-blog-header.php';");
        return Path.GetDirectoryName(rig.Dir.File("www/blog/wp-config.php", $"""
            <?php
            define( 'DB_NAME', {name} );
            define( 'DB_USER', {user} );
            define( 'DB_PASSWORD', {password} );
            define( 'DB_HOST', {host} );
            $table_prefix = 'wp_';
            """))!;
    }

    private string Host => PhpSingle("localhost:" + _server.Socket);

    public static TheoryData<string> PasswordAttacks => new()
    {
        // A raw line break inside the single-quoted PHP string: a plugin directory and an auth plugin to load as root.
        "'s3cret\nplugin-dir=@DIR@/plugins\ndefault-auth=evil\n;'",
        // PHP's own escapes: a new group for the dump program that writes its output over any file.
        "\"s3cret\\n[mariadb-dump]\\nresult-file=@VICTIM@\\n#\"",
        "\"s3cret\\r\\n[mariadb-dump]\\r\\nresult-file=@VICTIM@\\r\\n#\"",
        // A carriage return alone, a NUL (cuts the C string), an escape character.
        "\"s3cret\\r!include @VICTIM@\"",
        "\"s3cret\\0\"",
        "\"s3cret\\e[2J\"",
    };

    [Theory]
    [MemberData(nameof(PasswordAttacks))]
    public void A_DB_PASSWORD_with_control_characters_is_refused_with_BKP6400_before_anything_runs(string passwordLiteral)
    {
        using var rig = new DumpAttackRig();
        var literal = passwordLiteral.Replace("@DIR@", rig.Dir.Path).Replace("@VICTIM@", rig.Victim);
        var site = WordpressSite(rig, "'inj_site'", "'injsite'", literal, Host);
        var project = rig.Project("WordpressSite", site);

        var r = project.Run("CollectModules");

        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6400", r.All);
        var line = r.All.Split('\n').First(l => l.Contains("error BKP6400"));
        Assert.Contains(site, line);
        Assert.Contains("DB_PASSWORD", line);
        Assert.Contains(Path.Combine(site, "wp-config.php"), line);
        Assert.DoesNotContain("s3cret", r.All);
        rig.AssertVictimUntouched();
        rig.AssertNothingRanOrWasWritten(project);
    }

    [Fact]
    public void The_payload_is_real_an_option_file_written_without_checks_truncates_the_victim()
    {
        // The control experiment for the tests above: the option file the old writer produced (values in quotes with
        // \ and " escaped, but a line break written as it is) makes the real mariadb-dump write over the victim.
        using var rig = new DumpAttackRig();
        static string OldQuote(string v) => "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var password = $"site-pw\n[mariadb-dump]\nresult-file={rig.Victim}\n#";
        var naive = rig.Dir.File("naive.cnf",
            $"[client]\nuser={OldQuote("injsite")}\npassword={OldQuote(password)}\nsocket={OldQuote(_server.Socket)}\n");
        Tool.Run("mariadb-dump", "--defaults-file=" + naive, "--databases", "inj_site");
        Assert.NotEqual("precious data that no backup may overwrite\n", File.ReadAllText(rig.Victim));
    }

    [Fact]
    public void Every_setting_of_wp_config_with_a_line_break_is_reported_each_naming_the_setting()
    {
        using var rig = new DumpAttackRig();
        var site = WordpressSite(rig, "\"inj_site\\n[client]\"", "\"injsite\\nuser=root\"", PhpSingle("site-pw"),
            $"\"localhost:{_server.Socket}\\nsocket=/run/mysqld/mysqld.sock\"");
        var project = rig.Project("WordpressSite", site);

        var r = project.Run("CollectModules");

        Assert.NotEqual(0, r.ExitCode);
        var errors = r.All.Split('\n').Where(l => l.Contains("error BKP6400")).Distinct().ToList();
        foreach (var setting in new[] { "DB_NAME", "DB_USER", "DB_HOST" })
            Assert.Contains(errors, l => l.Contains(setting + " in") && l.Contains(site));
        Assert.DoesNotContain(errors, l => l.Contains("DB_PASSWORD"));
        rig.AssertVictimUntouched();
        rig.AssertNothingRanOrWasWritten(project);
    }

    [Fact]
    public void An_over_long_DB_PASSWORD_is_refused_with_BKP6401_as_the_client_would_cut_its_line()
    {
        using var rig = new DumpAttackRig();
        // mariadb-dump reads option files in pieces of 4094 bytes: 4084 bytes after password=" and the rest of the
        // line is read as a line of its own. Shown with the real parser first, then refused by BackupBuild.
        var password = new string('A', 4084) + "result-file=" + rig.Victim;
        var naive = rig.Dir.File("naive.cnf", $"[client]\npassword=\"{password}\"\n");
        Assert.Contains("\n--result-file=" + rig.Victim, Tool.Run("my_print_defaults", "--defaults-file=" + naive, "client").Output);

        var site = WordpressSite(rig, "'inj_site'", "'injsite'", PhpSingle(password), Host);
        var project = rig.Project("WordpressSite", site);
        var r = project.Run("CollectModules");

        Assert.NotEqual(0, r.ExitCode);
        var line = r.All.Split('\n').First(l => l.Contains("error BKP6401"));
        Assert.Contains(site, line);
        Assert.Contains("DB_PASSWORD", line);
        rig.AssertVictimUntouched();
        rig.AssertNothingRanOrWasWritten(project);
    }

    [Fact]
    public void A_DB_NAME_that_looks_like_an_option_stays_a_database_name()
    {
        using var rig = new DumpAttackRig();
        // A real database whose name is the short form of --result-file with the victim's path: given after "--",
        // mariadb-dump dumps it instead of writing over the victim.
        var name = "-r" + rig.Victim;
        var quoted = "`" + name + "`";
        _server.Sql($"CREATE DATABASE {quoted}; CREATE TABLE {quoted}.t (v TEXT); INSERT INTO {quoted}.t VALUES ('inside the odd database');" +
            $"GRANT ALL ON {quoted}.* TO 'injsite'@'localhost';");
        try
        {
            var site = WordpressSite(rig, PhpSingle(name), "'injsite'", "'site-pw'", Host);
            var project = rig.Project("WordpressSite", site);
            var r = project.Run("CollectModules");

            Assert.True(r.ExitCode == 0, r.All);
            rig.AssertVictimUntouched();
            var args = File.ReadAllLines(Assert.Single(rig.ArgumentFiles));
            Assert.Equal(new[] { "--databases", "--", name }, args[^3..]);
            var dump = Assert.Single(DumpFiles.In(project.CollectDir), f => f.StartsWith("wordpress-") || f.StartsWith("wiki-"));
            Assert.Contains("inside the odd database", File.ReadAllText(Path.Combine(project.CollectDir, dump)));
        }
        finally
        {
            _server.Sql($"DROP DATABASE {quoted}");
        }
    }

    // Characters that mean something to the option-file reader (quotes, backslash escapes such as \n and \s, # and ;
    // comments, = , [group], !include, spaces at either end, a trailing backslash) and to PHP, plus non-ASCII.
    private const string HardPassword = " p\"a'ss\\n\\s#w;o=rd [client] !include é\\ ";

    [Fact]
    public void A_password_with_quotes_backslashes_comment_signs_and_spaces_reaches_the_real_server_exactly()
    {
        using var rig = new DumpAttackRig();
        var sqlPassword = HardPassword.Replace("\\", "\\\\").Replace("'", "\\'");
        _server.Sql($"CREATE USER IF NOT EXISTS 'injhard'@'localhost' IDENTIFIED BY '{sqlPassword}'; GRANT ALL ON inj_site.* TO 'injhard'@'localhost';");
        var site = WordpressSite(rig, "'inj_site'", "'injhard'", PhpSingle(HardPassword), Host);
        var project = rig.Project("WordpressSite", site);

        var r = project.Run("CollectModules");

        Assert.True(r.ExitCode == 0, r.All);
        Assert.DoesNotContain("p\"a'ss", r.All);
        var dump = Assert.Single(DumpFiles.In(project.CollectDir), f => f.StartsWith("wordpress-") || f.StartsWith("wiki-"));
        Assert.Contains(Row, File.ReadAllText(Path.Combine(project.CollectDir, dump)));
        rig.AssertVictimUntouched();
        // The option file BackupBuild wrote: the group and one line per setting, nothing else; the real parser reads
        // the password back exactly. It was removed after the run.
        var options = File.ReadAllLines(Assert.Single(rig.OptionFiles));
        Assert.Equal(new[] { "[client]", "user=", "password=", "host=", "socket=" }, options.Select(l => l.Length > 0 && l[0] == '[' ? l : l[..(l.IndexOf('=') + 1)]));
        var read = Tool.Run("my_print_defaults", "--defaults-file=" + Assert.Single(rig.OptionFiles), "client").Output;
        Assert.Contains("--password=" + HardPassword + "\n", read);
        Assert.Empty(Directory.GetFiles(rig.Tmp, "*.cnf", SearchOption.AllDirectories));
        Assert.Contains("--defaults-file=", File.ReadAllText(Assert.Single(rig.ArgumentFiles)));
    }

    [Fact]
    public void A_mediawiki_double_quoted_password_is_read_with_PHPs_escapes_and_works()
    {
        using var rig = new DumpAttackRig();
        // PHP reads "x\x41\101\u{e9}\$\"\\\q" as xAAé$"\\q (\q is no escape: the backslash stays).
        const string expected = "xAAé$\"\\\\q";
        _server.Sql("CREATE USER IF NOT EXISTS 'injwiki'@'localhost' IDENTIFIED BY '" + expected.Replace("\\", "\\\\").Replace("'", "\\'") +
            "'; GRANT ALL ON inj_site.* TO 'injwiki'@'localhost';");
        var site = MediawikiSite(rig, $$"""
            $wgDBtype = "mysql";
            $wgDBserver = "localhost:{{_server.Socket}}";
            $wgDBname = "inj_site";
            $wgDBuser = "injwiki";
            $wgDBpassword = "x\x41\101\u{e9}\$\"\\\q";
            """);
        var project = rig.Project("MediawikiSite", site);

        var r = project.Run("CollectModules");

        Assert.True(r.ExitCode == 0, r.All);
        var dump = Assert.Single(DumpFiles.In(project.CollectDir), f => f.StartsWith("wordpress-") || f.StartsWith("wiki-"));
        Assert.Contains(Row, File.ReadAllText(Path.Combine(project.CollectDir, dump)));
        Assert.Contains("--password=" + expected + "\n",
            Tool.Run("my_print_defaults", "--defaults-file=" + Assert.Single(rig.OptionFiles), "client").Output);
    }

    [Fact]
    public void Mediawiki_settings_with_line_breaks_are_refused_naming_each_setting()
    {
        using var rig = new DumpAttackRig();
        var site = MediawikiSite(rig, $"""
            $wgDBtype = "mysql";
            $wgDBserver = "localhost:{_server.Socket}\n[mariadb-dump]\nresult-file={rig.Victim}";
            $wgDBname = "inj_site";
            $wgDBuser = "injwiki";
            $wgDBpassword = 'pw
            plugin-dir={rig.Dir.Path}
            default-auth=evil';
            """);
        var project = rig.Project("MediawikiSite", site);

        var r = project.Run("CollectModules");

        Assert.NotEqual(0, r.ExitCode);
        var errors = r.All.Split('\n').Where(l => l.Contains("error BKP6400")).ToList();
        Assert.Contains(errors, l => l.Contains("$wgDBserver in") && l.Contains(site));
        Assert.Contains(errors, l => l.Contains("$wgDBpassword in") && l.Contains(site));
        rig.AssertVictimUntouched();
        rig.AssertNothingRanOrWasWritten(project);
    }

    private static string MediawikiSite(DumpAttackRig rig, string settings)
    {
        rig.Dir.File("www/wiki/index.php", "<?php // MediaWiki");
        return Path.GetDirectoryName(rig.Dir.File("www/wiki/LocalSettings.php", "<?php\n" + settings + "\n"))!;
    }
}
