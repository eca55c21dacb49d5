using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// The formats BackupBuild writes values from site files into, checked with the real readers: MySQL option files
/// read back by MariaDB's own parser (my_print_defaults), PHP string literals as PHP reads them.
/// </summary>
[Trait("Tier", "Fast")]
public class OptionInjectionFormatTests
{
    public static TheoryData<string> OptionValues => new()
    {
        "plain", "", " spaces at both ends ", "\"quoted\"", "'single'", "\"", "'", "back\\slash", "ends with \\", "\\",
        "\\n is two characters", "\\s\\t\\b\\r\\\\", "#not a comment", "a;b", "a = b", "[client]", "!include /etc/shadow",
        "plugin-dir=/tmp/x", "\"\\\"", "é ü 中文 😀", new string('x', SiteValues.MaxBytes),
    };

    [Theory]
    [MemberData(nameof(OptionValues))]
    public void A_value_written_to_an_option_file_is_read_back_exactly_by_the_MariaDB_parser(string value)
    {
        using var dir = new TempDir();
        var file = dir.File("test.cnf", MysqlOptionFile.Text("client", new[] { ("password", value), ("user", "after") }));
        var r = Tool.Run(Tool.Require("my_print_defaults"), "--defaults-file=" + file, "client");
        Assert.True(r.ExitCode == 0, r.All);
        // Exactly two options, in order, with the exact values: nothing was cut or added.
        Assert.Equal("--password=" + value + "\n--user=after\n", r.Output);
    }

    public static TheoryData<string> RefusedValues => new()
    {
        "a\nb", "a\rb", "a\0b", "a\tb", "\u001b[2J", "a\u007fb", "a\u0085b", "a\u2028b", "a\u2029b", new string('x', SiteValues.MaxBytes + 1),
        new string('é', SiteValues.MaxBytes / 2 + 1),
    };

    [Theory]
    [MemberData(nameof(RefusedValues))]
    public void A_value_with_a_control_character_or_too_long_is_never_written(string value)
    {
        Assert.NotNull(SiteValues.Refusal(value));
        Assert.Throws<ArgumentException>(() => MysqlOptionFile.Text("client", new[] { ("password", value) }));
        var problems = new BackupBuild.Tasks.Infrastructure.Problems();
        Assert.False(SiteValues.Check("/srv/site", "/srv/site/wp-config.php", "DB_PASSWORD", value, problems));
        var problem = Assert.Single(problems.All);
        Assert.StartsWith(value.Length > 100 ? "BKP6401" : "BKP6400", problem.ToString());
        Assert.Contains("/srv/site", problem.ToString());
        Assert.Contains("DB_PASSWORD", problem.ToString());
    }

    [Theory]
    // Single quotes: only \\ and \' are escapes.
    [InlineData(false, @"a\\b", @"a\b")]
    [InlineData(false, @"it\'s", "it's")]
    [InlineData(false, @"a\nb", @"a\nb")]
    [InlineData(false, @"a\b\", @"a\b\")]
    [InlineData(false, "two\nlines", "two\nlines")]
    // Double quotes: PHP's escapes.
    [InlineData(true, @"a\nb\tc\rd", "a\nb\tc\rd")]
    [InlineData(true, @"\v\e\f", "\v\u001b\f")]
    [InlineData(true, @"\\ \$ \""", "\\ $ \"")]
    [InlineData(true, @"\101\60\0", "A0\0")]
    [InlineData(true, @"\x41\x4a\xg", "AJ\\xg")]
    [InlineData(true, @"\xc3\xa9", "é")]
    [InlineData(true, @"\u{e9}\u{1F600}", "é😀")]
    [InlineData(true, @"\q \' \u", "\\q \\' \\u")]
    public void PHP_string_literals_are_read_as_PHP_reads_them(bool doubleQuoted, string literal, string expected) =>
        Assert.Equal(expected, PhpSettings.Unescape(literal, doubleQuoted));

    [Fact]
    public void A_relative_sqlite_folder_of_a_wiki_is_taken_from_the_wiki_folder_and_sqlite3_gets_an_absolute_path()
    {
        // $wgDBname "-cmd" and a relative $wgSQLiteDataDir: sqlite3 is given <site>/data/-cmd.sqlite, never "-cmd…".
        using var dir = new TempDir();
        Tool.Require("sqlite3");
        var site = dir.Dir("www/wiki");
        Assert.Equal(0, Tool.Run("sqlite3", Path.Combine(dir.Dir("www/wiki/data"), "-cmd.sqlite"),
            "CREATE TABLE page (t text); INSERT INTO page VALUES ('odd name page');").ExitCode);
        dir.File("www/wiki/LocalSettings.php", "<?php\n$wgDBtype = 'sqlite';\n$wgDBname = '-cmd';\n$wgSQLiteDataDir = 'data';\n");
        var engine = new FakeBuildEngine();
        var task = new BackupBuild.Tasks.Extensions.Mediawiki.MediawikiDump
        {
            BuildEngine = engine, Sites = new[] { Items.Of(site) }, CollectDir = dir["collect"],
            GroupSettings = PropsDefaults.Module(BackupBuild.Tasks.Settings.ModuleGroup.Mediawiki, ("MediawikiCompressMode", "none")),
            ProgramSettings = PropsDefaults.Programs(),
        };
        Assert.True(task.Execute(), engine.AllText);
        Assert.Contains("odd name page", File.ReadAllText(Assert.Single(Directory.GetFiles(dir["collect"]))));
    }

    [Fact]
    public void A_trac_database_path_with_a_control_character_is_refused()
    {
        using var dir = new TempDir();
        var site = dir.Dir("trac/project");
        dir.File("trac/project/conf/trac.ini", "[trac]\ndatabase = sqlite:db/tr\u0001ac.db\n");
        var engine = new FakeBuildEngine();
        var task = new BackupBuild.Tasks.Extensions.Trac.TracDump
        {
            BuildEngine = engine, Sites = new[] { Items.Of(site) }, CollectDir = dir["collect"],
            GroupSettings = PropsDefaults.Module(BackupBuild.Tasks.Settings.ModuleGroup.Trac), ProgramSettings = PropsDefaults.Programs(),
        };
        Assert.False(task.Execute());
        var error = Assert.Single(engine.Errors);
        Assert.Equal("BKP6400", error.Code);
        Assert.Contains("[trac] database", error.Message);
        Assert.Contains(site, error.Message);
        Assert.False(Directory.Exists(dir["collect"]));
    }
}
