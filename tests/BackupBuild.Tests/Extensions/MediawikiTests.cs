using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>MediaWiki sites: the database from LocalSettings.php (MariaDB or SQLite), the files through Collect.</summary>
public class MediawikiTests : IClassFixture<MariaDbServer>
{
    private readonly MariaDbServer _server;

    public MediawikiTests(MariaDbServer server)
    {
        _server = server;
        _server.Sql("CREATE DATABASE IF NOT EXISTS wikidb; CREATE TABLE IF NOT EXISTS wikidb.page (page_id INT PRIMARY KEY, page_title VARCHAR(80));" +
            "REPLACE INTO wikidb.page VALUES (1, 'Main_Page');" +
            "CREATE USER IF NOT EXISTS 'wikiuser'@'localhost' IDENTIFIED BY 'wiki-pw'; GRANT ALL ON wikidb.* TO 'wikiuser'@'localhost';");
    }

    private static string Site(TempDir dir, string settings)
    {
        dir.File("www/wiki/index.php", "<?php // MediaWiki");
        return Path.GetDirectoryName(dir.File("www/wiki/LocalSettings.php", "<?php\n# Database settings\n" + settings + "\n$wgSitename = \"Test\";\n"))!;
    }

    private static string DumpName(BackupProject project, string site, string ext) =>
        project.CollectDir + $"wiki-{site.TrimStart('/').Replace('/', '-')}.sql{ext}";

    [Fact]
    public void A_mariadb_wiki_is_dumped_and_restores_and_its_files_are_collected()
    {
        using var dir = new TempDir();
        var site = Site(dir, $"""
            $wgDBtype = "mysql";
            $wgDBserver = "localhost:{_server.Socket}";
            $wgDBname = "wikidb";
            $wgDBuser = "wikiuser";
            $wgDBpassword = 'wiki-pw';
            """);
        var project = new BackupProject(dir.Path).Item("MediawikiSite", site);
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        var sql = DumpFiles.Text(DumpName(project, site, ".bz2"));
        Assert.Contains("Main_Page", sql);
        Assert.Contains(Directory.GetFiles(project.CollectDir), f => f.Contains("www-wiki") && f.Contains(".tar"));

        _server.Sql("DROP DATABASE wikidb");
        _server.Load(sql);
        Assert.Equal("Main_Page", _server.Sql("SELECT page_title FROM wikidb.page"));
    }

    [Fact]
    public void An_sqlite_wiki_is_dumped_and_restores()
    {
        using var dir = new TempDir();
        Tool.Require("sqlite3");
        var data = dir.Dir("data");
        Assert.Equal(0, Tool.Run("sqlite3", Path.Combine(data, "my_wiki.sqlite"),
            "CREATE TABLE page (page_id integer PRIMARY KEY, page_title text); INSERT INTO page VALUES (1, 'Sqlite_Page');").ExitCode);
        var site = Site(dir, $"$wgDBtype = 'sqlite';\n$wgDBname = 'my_wiki';\n$wgSQLiteDataDir = '{data}';");
        var project = new BackupProject(dir.Path).Item("MediawikiSite", site).Property("MediawikiCompressMode", "none");
        var r = project.Run("CollectModules");
        Assert.True(r.ExitCode == 0, r.All);
        var dump = DumpName(project, site, "");
        var load = Tool.Run("sqlite3", "-bail", dir["restored.db"], ".read " + dump);
        Assert.True(load.ExitCode == 0, load.All);
        Assert.Equal("Sqlite_Page", Tool.Run("sqlite3", dir["restored.db"], "SELECT page_title FROM page").Output.Trim());
    }

    [Fact]
    public void Wrong_credentials_and_unsupported_databases_are_coded_errors()
    {
        using var dir = new TempDir();
        var site = Site(dir, $"$wgDBtype = 'mysql';\n$wgDBserver = 'localhost:{_server.Socket}';\n$wgDBname = 'wikidb';\n$wgDBuser = 'wikiuser';\n$wgDBpassword = 'wrong';");
        var project = new BackupProject(dir.Path).Item("MediawikiSite", site);
        var r = project.Run("CollectModules");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6064", r.All);
        Assert.DoesNotContain(DumpFiles.In(project.CollectDir), f => f.StartsWith("wiki-"));

        using var other = new TempDir();
        var pg = Site(other, "$wgDBtype = 'postgres';\n$wgDBname = 'wiki';");
        var r2 = new BackupProject(other.Path).Item("MediawikiSite", pg).Run("CollectModules");
        Assert.Contains("error BKP6062", r2.All);
    }
}
