using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// What Collect's modules write (here the mysql module's dump of a real MariaDB server) is found and restored by
/// name into the target folder, never applied; docs/extensions/databases.md's safe restore loads it into a NEW
/// database and leaves the live one as it is.
/// </summary>
public class ModuleOutputRestoreTests : IClassFixture<MariaDbServer>
{
    private readonly MariaDbServer _server;

    public ModuleOutputRestoreTests(MariaDbServer server)
    {
        _server = server;
        _server.Sql("DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS shop_restored; CREATE DATABASE shop;" +
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40));" +
            "INSERT INTO shop.orders VALUES (1, 'teapot'), (2, 'kettle');");
    }

    [Fact]
    public void A_mysql_dump_is_found_restored_by_name_and_loads_into_a_new_database_leaving_the_live_one_alone()
    {
        using var t = new TempDir();
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "db1")
            .Property("MysqlOptionsFile", _server.OptionsFile)
            .Property("MysqlCompressMode", "bzip2")
            .Item("Peer", "db1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("MysqlDatabase", "shop");
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var find = p.Run("Find", "FindPattern=mysqldump-*");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains("2026-11-24  db1", find.Output);
        Assert.Contains("mysqldump-shop.txt.bz2 (module output", find.Output);

        // The live database moves on after the backup.
        _server.Sql("INSERT INTO shop.orders VALUES (3, 'cup')");

        var to = t.Dir("restore");
        run = p.Run("Restore", "RestoreOutput=mysqldump-shop.txt.bz2", "RestoreTo=" + to);
        Assert.True(run.ExitCode == 0, run.All);
        var dump = Path.Combine(to, "mysqldump-shop.txt.bz2");
        Assert.True(File.Exists(dump), run.All);
        Assert.Equal("600", Convert.ToString(Tasks.Infrastructure.Posix.LStat(dump, out _)!.Value.Permissions, 8));
        Assert.Equal("1\tteapot\n2\tkettle\n3\tcup", _server.Sql("SELECT id, item FROM shop.orders ORDER BY id")); // not applied

        // No such output: a coded error, nothing written.
        var none = p.Run("Restore", "RestoreOutput=pgdump-*", "RestoreTo=" + t["restore-none"]);
        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("BKP8604", none.Output);

        // databases.md: into a new database, without the dump's CREATE DATABASE and USE lines.
        _server.Sql("CREATE DATABASE shop_restored");
        var load = Tool.Run("sh", "-c",
            "bzcat \"$1\" | sed -e '/^CREATE DATABASE /d' -e '/^USE `/d' | mariadb --no-defaults --socket=\"$2\" -uroot shop_restored",
            "sh", dump, _server.Socket);
        Assert.True(load.ExitCode == 0, load.All);
        Assert.Equal("1\tteapot\n2\tkettle", _server.Sql("SELECT id, item FROM shop_restored.orders ORDER BY id"));
        Assert.Equal("1\tteapot\n2\tkettle\n3\tcup", _server.Sql("SELECT id, item FROM shop.orders ORDER BY id"));
    }
}

/// <summary>The postgresql module's dump of a real PostgreSQL server, restored by name and loaded into a new database.</summary>
public class PostgresqlOutputRestoreTests : IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;

    public PostgresqlOutputRestoreTests(PostgresServer server)
    {
        _server = server;
        if (_server.Sql("SELECT count(*) FROM pg_database WHERE datname = 'live'") == "0") _server.Sql("CREATE DATABASE live");
        _server.Sql("DROP TABLE IF EXISTS orders; CREATE TABLE orders (id int PRIMARY KEY, item text);" +
            "INSERT INTO orders VALUES (1, 'teapot'), (2, 'kettle');", "live");
    }

    [Fact]
    public void A_postgresql_dump_is_restored_by_name_and_loads_into_a_new_database_leaving_the_live_one_alone()
    {
        using var t = new TempDir();
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "db1")
            .Property("PostgresqlCompressMode", "gzip")
            .Property("PostgresqlUser", PostgresServer.User)
            .Property("PostgresqlHost", _server.Host)
            .Property("PostgresqlPort", _server.Port.ToString())
            .Property("PostgresqlPassFile", _server.PassFile)
            .Item("Peer", "db1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("PostgresqlDatabase", "live");
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        _server.Sql("INSERT INTO orders VALUES (3, 'cup')", "live");

        var to = t.Dir("restore");
        run = p.Run("Restore", "RestoreOutput=postgresqldump-*", "RestoreTo=" + to);
        Assert.True(run.ExitCode == 0, run.All);
        var dump = Path.Combine(to, "postgresqldump-live.txt.gz");
        Assert.True(File.Exists(dump), run.All);
        Assert.Equal("1|teapot\n2|kettle\n3|cup", _server.Sql("SELECT id, item FROM orders ORDER BY id", "live"));

        // databases.md: createdb NEW; zcat dump | psql -d NEW.
        var fresh = "restored_" + Guid.NewGuid().ToString("N")[..6];
        _server.Sql("CREATE DATABASE " + fresh);
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(dump), System.IO.Compression.CompressionMode.Decompress))
        using (var reader = new StreamReader(gz))
            _server.Load(reader.ReadToEnd(), fresh);
        Assert.Equal("1|teapot\n2|kettle", _server.Sql("SELECT id, item FROM orders ORDER BY id", fresh));
        Assert.Equal("1|teapot\n2|kettle\n3|cup", _server.Sql("SELECT id, item FROM orders ORDER BY id", "live"));
    }
}
