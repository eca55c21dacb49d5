using BackupBuild.Tasks.Extensions.Postgresql;
using BackupBuild.Tests.Support;
using Microsoft.Build.Utilities;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>PostgresqlDump against a real PostgreSQL server started for this class.</summary>
public class PostgresqlDumpTests : IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;

    public PostgresqlDumpTests(PostgresServer server)
    {
        _server = server;
        foreach (var db in new[] { "shop", "blog" })
            if (_server.Sql($"SELECT count(*) FROM pg_database WHERE datname = '{db}'") == "0") _server.Sql("CREATE DATABASE " + db);
        _server.Sql("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, item text);" +
            "INSERT INTO orders VALUES (1, 'teapot'), (2, 'kettle') ON CONFLICT DO NOTHING;", "shop");
        _server.Sql("CREATE TABLE IF NOT EXISTS posts (id int PRIMARY KEY, title text);" +
            "INSERT INTO posts VALUES (7, 'hello world') ON CONFLICT DO NOTHING;", "blog");
    }

    private (FakeBuildEngine Engine, bool Ok) Dump(string collectDir, string compress, string passFile, int? port = null,
        params string[] databases)
    {
        var engine = new FakeBuildEngine();
        var task = new PostgresqlDump
        {
            BuildEngine = engine, CollectDir = collectDir, GroupSettings = PropsDefaults.Module(BackupBuild.Tasks.Settings.ModuleGroup.Postgresql,
                ("PostgresqlCompressMode", string.IsNullOrEmpty(compress) ? PropsDefaults.Value("PostgresqlCompressMode") : compress), ("PostgresqlPassFile", passFile ?? ""), ("PostgresqlPort", (port ?? _server.Port).ToString())),
            User = PostgresServer.User, Host = _server.Host, ProgramSettings = PropsDefaults.Programs(),
            Databases = databases.Select(d => (Microsoft.Build.Framework.ITaskItem)new TaskItem(d)).ToArray(),
        };
        return (engine, task.Execute());
    }

    [Fact]
    public void One_database_is_dumped_and_loads_back_into_a_fresh_database()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "none", _server.PassFile, null, "shop");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { "postgresqldump-shop.txt" }, DumpFiles.In(dir["collect"]));
        var sql = DumpFiles.Text(dir["collect/postgresqldump-shop.txt"]);
        Assert.Contains("teapot", sql);
        Assert.DoesNotContain("hello world", sql);

        var fresh = "restored_" + Guid.NewGuid().ToString("N")[..6];
        _server.Sql("CREATE DATABASE " + fresh);
        _server.Load(sql, fresh);
        Assert.Equal("1|teapot\n2|kettle", _server.Sql("SELECT id, item FROM orders ORDER BY id", fresh));
    }

    [Theory]
    [InlineData("gzip", "postgresqldump.txt.gz")]
    [InlineData("bzip2", "postgresqldump.txt.bz2")]
    public void The_whole_cluster_goes_into_one_compressed_dump(string mode, string file)
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], mode, _server.PassFile, null, "*");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { file }, DumpFiles.In(dir["collect"]));
        var sql = DumpFiles.Text(dir["collect/" + file]);
        Assert.Contains("teapot", sql);
        Assert.Contains("hello world", sql);
        Assert.Contains("CREATE ROLE backup", sql);
    }

    [Fact]
    public void Each_named_database_gets_its_own_dump_with_the_default_bzip2()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "", _server.PassFile, null, "shop", "blog");
        Assert.True(r.Ok, r.Engine.AllText);
        Assert.Equal(new[] { "postgresqldump-blog.txt.bz2", "postgresqldump-shop.txt.bz2" }, DumpFiles.In(dir["collect"]));
        Assert.Contains("hello world", DumpFiles.Text(dir["collect/postgresqldump-blog.txt.bz2"]));
    }

    [Fact]
    public void A_server_that_is_down_is_a_coded_error_naming_the_database_and_leaves_no_dump()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "gzip", _server.PassFile, SshServer.FreePort(), "shop");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6025", error.Code);
        Assert.Contains("shop", error.Message);
        Assert.Empty(DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void Wrong_credentials_are_a_coded_error_and_leave_no_dump()
    {
        using var dir = new TempDir();
        var wrong = _server.WritePassFile("wrong-pgpass", "not-the-password");
        var r = Dump(dir["collect"], "bzip2", wrong, null, "blog");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6024", error.Code);
        Assert.Contains("blog", error.Message);
        Assert.DoesNotContain("not-the-password", r.Engine.AllText);
        Assert.Empty(DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void A_missing_database_fails_with_its_name_while_the_others_are_dumped()
    {
        using var dir = new TempDir();
        var r = Dump(dir["collect"], "none", _server.PassFile, null, "nosuchdb", "blog");
        Assert.False(r.Ok);
        var error = Assert.Single(r.Engine.Errors);
        Assert.Equal("BKP6022", error.Code);
        Assert.Contains("nosuchdb", error.Message);
        Assert.Equal(new[] { "postgresqldump-blog.txt" }, DumpFiles.In(dir["collect"]));
    }

    [Fact]
    public void Collect_runs_the_module_from_the_project()
    {
        using var dir = new TempDir();
        var project = new BackupProject(dir.Path)
            .Property("PostgresqlUser", PostgresServer.User)
            .Property("PostgresqlHost", _server.Host)
            .Property("PostgresqlPort", _server.Port.ToString())
            .Property("PostgresqlPassFile", _server.PassFile)
            .Property("PostgresqlCompressMode", "gzip")
            .Item("PostgresqlDatabase", "shop")
            .Item("CollectDirectory", dir.Dir("etc"));
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("teapot", DumpFiles.Text(project.CollectDir + "postgresqldump-shop.txt.gz"));
    }
}
