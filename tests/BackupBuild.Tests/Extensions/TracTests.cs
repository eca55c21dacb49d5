using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>Trac environments: the SQLite database dumped consistently, the other files through Collect.</summary>
public class TracTests
{
    private static string Environment(TempDir dir, string database = "sqlite:db/trac.db")
    {
        Tool.Require("sqlite3");
        var env = dir.Dir("trac/project");
        dir.File("trac/project/conf/trac.ini", $"[logging]\nlog_type = none\n\n[trac]\nbase_url =\ndatabase = {database}\n");
        dir.File("trac/project/files/attachments/ticket/1/screenshot.txt", "an attachment");
        dir.Dir("trac/project/db");
        var r = Tool.Run("sqlite3", dir["trac/project/db/trac.db"],
            "CREATE TABLE ticket (id integer PRIMARY KEY, summary text); INSERT INTO ticket VALUES (1, 'The build is broken');");
        Assert.True(r.ExitCode == 0, r.All);
        return env;
    }

    [Fact]
    public void The_database_is_dumped_and_restores_and_the_files_are_collected_without_the_live_database()
    {
        using var dir = new TempDir();
        var env = Environment(dir);
        var project = new BackupProject(dir.Path).Item("TracSite", env).Property("TracCompressMode", "gzip");
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        var dump = project.CollectDir + $"trac-{env.TrimStart('/').Replace('/', '-')}.sql.gz";
        var sql = DumpFiles.Text(dump);
        Assert.Contains("The build is broken", sql);

        // Restore check: the dump builds a new database.
        var restored = dir.File("restored.sql", sql);
        var load = Tool.Run("sqlite3", "-bail", dir["restored.db"], ".read " + restored);
        Assert.True(load.ExitCode == 0, load.All);
        Assert.Equal("The build is broken", Tool.Run("sqlite3", dir["restored.db"], "SELECT summary FROM ticket").Output.Trim());

        var archive = Assert.Single(Directory.GetFiles(project.CollectDir), f => f.Contains("trac-project") && f.Contains(".tar"));
        var listing = Tool.Run("tar", "-tf", archive).Output;
        Assert.Contains("screenshot.txt", listing);
        Assert.Contains("trac.ini", listing);
        Assert.DoesNotContain("trac.db", listing);
    }

    [Fact]
    public void An_environment_on_another_database_is_reported()
    {
        using var dir = new TempDir();
        var env = Environment(dir, "postgres://trac:secret@localhost/trac");
        var project = new BackupProject(dir.Path).Item("TracSite", env);
        var r = project.Run("CollectModules");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6051", r.All);
        Assert.DoesNotContain("secret", r.All);
    }

    [Fact]
    public void A_damaged_database_is_a_coded_error_and_leaves_no_dump()
    {
        using var dir = new TempDir();
        var env = Environment(dir);
        File.WriteAllText(Path.Combine(env, "db/trac.db"), "this is not an SQLite database, but it is long enough to look like one........");
        var project = new BackupProject(dir.Path).Item("TracSite", env);
        var r = project.Run("CollectModules");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("error BKP6054", r.All);
        Assert.DoesNotContain(DumpFiles.In(project.CollectDir), f => f.StartsWith("trac-"));
    }
}
