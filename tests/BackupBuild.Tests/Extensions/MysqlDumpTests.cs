using Xunit;
using BackupBuild.Tasks.Extensions.Mysql;
using BackupBuild.Tests.Support;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tests.Extensions;

/// <summary>MysqlDump against a real MariaDB server started for this class.</summary>
public class MysqlDumpTests : IClassFixture<MariaDbServer>
{
    private readonly MariaDbServer _server;

    public MysqlDumpTests(MariaDbServer server)
    {
        _server = server;
        _server.Sql("CREATE DATABASE IF NOT EXISTS shop; CREATE DATABASE IF NOT EXISTS blog;" +
            "CREATE TABLE IF NOT EXISTS shop.orders (id INT PRIMARY KEY, item VARCHAR(40));" +
            "REPLACE INTO shop.orders VALUES (1, 'teapot'), (2, 'kettle');" +
            "CREATE TABLE IF NOT EXISTS blog.posts (id INT PRIMARY KEY, title VARCHAR(40));" +
            "REPLACE INTO blog.posts VALUES (7, 'hello world');");
    }

    private (MysqlDump Task, FakeBuildEngine Engine, bool Ok) Dump(string collectDir, string compress, string? optionsFile, params string[] databases)
    {
        var engine = new FakeBuildEngine();
        var task = new MysqlDump
        {
            BuildEngine = engine, CollectDir = collectDir,
            // An empty compress mode stands for "not set": the props' default.
            MysqlSettings = PropsDefaults.Item(MysqlDump.SettingsItemType, MysqlDump.SettingsNames,
                compress.Length > 0 ? [("MysqlCompressMode", compress), ("MysqlOptionsFile", optionsFile ?? "")] : [("MysqlOptionsFile", optionsFile ?? "")]),
            Databases = databases.Select(d => (Microsoft.Build.Framework.ITaskItem)new TaskItem(d)).ToArray(),
        };
        var ok = task.Execute();
        return (task, engine, ok);
    }

    [Fact]
    public void One_database_is_dumped_and_loads_back_into_a_fresh_database()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "none", _server.OptionsFile, "shop");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { "mysqldump-shop.txt" }, DumpFiles.In(dir["collect"]));
        var sql = DumpFiles.Text(dir["collect/mysqldump-shop.txt"]);
        Assert.Contains("teapot", sql);
        Assert.DoesNotContain("hello world", sql);
        Assert.DoesNotContain(MariaDbServer.Password, sql);

        // Restore check: drop the database, load the dump, read the rows back.
        _server.Sql("DROP DATABASE shop");
        _server.Load(sql);
        Assert.Equal("1\tteapot\n2\tkettle", _server.Sql("SELECT id, item FROM shop.orders ORDER BY id"));
    }

    [Theory]
    [InlineData("gzip", "mysqldump.txt.gz")]
    [InlineData("bzip2", "mysqldump.txt.bz2")]
    public void All_databases_go_into_one_compressed_dump(string mode, string file)
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], mode, _server.OptionsFile, "*");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { file }, DumpFiles.In(dir["collect"]));
        var sql = DumpFiles.Text(dir["collect/" + file]);
        Assert.Contains("teapot", sql);
        Assert.Contains("hello world", sql);
    }

    [Fact]
    public void Each_named_database_gets_its_own_dump_with_the_default_bzip2()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "", _server.OptionsFile, "shop", "blog");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { "mysqldump-blog.txt.bz2", "mysqldump-shop.txt.bz2" }, DumpFiles.In(dir["collect"]));
        Assert.Contains("hello world", DumpFiles.Text(dir["collect/mysqldump-blog.txt.bz2"]));
    }

    [Fact]
    public void A_server_that_is_down_is_a_coded_error_naming_the_database_and_leaves_no_dump()
    {
        using var dir = new TempDir();
        var options = _server.WriteOptions("down.cnf", MariaDbServer.Password, dir["no-such.sock"]);
        var r = Dump(dir["collect"], "gzip", options, "shop");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6015", error.Code);
        Assert.Contains("shop", error.Message);
        Assert.Empty(DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void Wrong_credentials_are_a_coded_error_and_leave_no_dump()
    {
        using var dir = new TempDir();
        var options = _server.WriteOptions("wrong.cnf", "not-the-password", _server.Socket);
        var r = Dump(dir["collect"], "bzip2", options, "blog");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6014", error.Code);
        Assert.Contains("blog", error.Message);
        Assert.DoesNotContain("not-the-password", r.Engine.AllText);
        Assert.Empty(DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void A_missing_database_fails_with_its_name_while_the_others_are_dumped()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "none", _server.OptionsFile, "nosuchdb", "blog");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6012", error.Code);
        Assert.Contains("nosuchdb", error.Message);
        Assert.Equal(new[] { "mysqldump-blog.txt" }, DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void Configuration_mistakes_are_reported_before_anything_is_dumped()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "zip", dir["missing.cnf"], "*", "shop");
        Assert.False(r.Ok);
        Assert.Equal(new[] { "BKP1012", "BKP6001", "BKP6010" }, r.Engine.ErrorCodes.Order().ToArray());
        Assert.Empty(DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void Collect_runs_the_module_from_the_project()
    {
        using var dir = new TempDir();
        var project = new BackupProject(dir.Path)
            .Property("MysqlOptionsFile", _server.OptionsFile)
            .Property("MysqlCompressMode", "gzip")
            .Item("MysqlDatabase", "shop")
            // Collect itself refuses a machine with nothing of its own to collect (BKP1029).
            .Item("CollectDirectory", dir.Dir("etc"));
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("teapot", DumpFiles.Text(project.CollectDir + "mysqldump-shop.txt.gz"));
        Assert.DoesNotContain(MariaDbServer.Password, r.All);
    }
}
