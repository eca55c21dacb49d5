using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>WordPress sites against a real MariaDB server: the database from wp-config.php, the files through Collect.</summary>
public class WordpressTests : IClassFixture<MariaDbServer>
{
    private readonly MariaDbServer _server;

    public WordpressTests(MariaDbServer server)
    {
        _server = server;
        _server.Sql("CREATE DATABASE IF NOT EXISTS wp_blog; CREATE TABLE IF NOT EXISTS wp_blog.wp_posts (ID INT PRIMARY KEY, post_title TEXT);" +
            "REPLACE INTO wp_blog.wp_posts VALUES (1, 'Hello from WordPress');" +
            "CREATE USER IF NOT EXISTS 'wpuser'@'localhost' IDENTIFIED BY 'wp#pa ss\"q'; GRANT ALL ON wp_blog.* TO 'wpuser'@'localhost';");
    }

    private string Site(TempDir dir, string password)
    {
        dir.File("www/blog/index.php", "<?php require 'wp-blog-header.php';");
        return Path.GetDirectoryName(dir.File("www/blog/wp-config.php", $"""
            <?php
            // define('DB_NAME', 'old_database');
            define( 'DB_NAME', 'wp_blog' );
            define( 'DB_USER', 'wpuser' );
            define( 'DB_PASSWORD', '{password.Replace("'", "\\'")}' );
            define( 'DB_HOST', 'localhost:{_server.Socket}' );
            $table_prefix = 'wp_';
            require_once ABSPATH . 'wp-settings.php';
            """))!;
    }

    [Fact]
    public void The_database_from_wp_config_is_dumped_and_the_files_are_collected()
    {
        using var dir = new TempDir();
        var site = Site(dir, "wp#pa ss\"q");
        var project = new BackupProject(dir.Path).Item("WordpressSite", site).Property("WordpressCompressMode", "gzip");
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.DoesNotContain("wp#pa", r.All);
        var dump = project.CollectDir + $"wordpress-{site.TrimStart('/').Replace('/', '-')}.sql.gz";
        var sql = DumpFiles.Text(dump);
        Assert.Contains("Hello from WordPress", sql);
        Assert.Contains(Directory.GetFiles(project.CollectDir), f => f.Contains("www-blog") && f.Contains(".tar"));
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "bkp-site-*.cnf"));

        // Restore check.
        _server.Sql("DROP DATABASE wp_blog");
        _server.Load(sql);
        Assert.Equal("Hello from WordPress", _server.Sql("SELECT post_title FROM wp_blog.wp_posts"));
    }

    [Fact]
    public void A_wrong_password_in_wp_config_is_a_coded_error_naming_the_site_and_leaves_no_dump()
    {
        using var dir = new TempDir();
        var site = Site(dir, "wrong");
        var project = new BackupProject(dir.Path).Item("WordpressSite", site);
        var r = project.Run("CollectModules");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6042", r.All);
        Assert.Contains(site, r.All);
        Assert.DoesNotContain(DumpFiles.In(project.CollectDir), f => f.StartsWith("wordpress-"));
    }

    [Fact]
    public void A_site_without_wp_config_is_reported()
    {
        using var dir = new TempDir();
        var project = new BackupProject(dir.Path).Item("WordpressSite", dir.Dir("empty"));
        var r = project.Run("CollectModules");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6040", r.All);
    }
}
