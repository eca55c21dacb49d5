using BackupBuild.Tasks.Extensions.Postgresql;
using BackupBuild.Tests.Support;
using Microsoft.Build.Utilities;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// libpq connection strings: a database name is given to pg_dump as -d dbname='…' with \ and ' escaped, so a name
/// that reads as a connection string (port=, dbname=, quotes, backslashes) names exactly that database.
/// </summary>
public class OptionInjectionPostgresTests : IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;

    public OptionInjectionPostgresTests(PostgresServer server) => _server = server;

    [Fact]
    public void A_database_name_that_reads_as_a_connection_string_names_exactly_that_database()
    {
        // Read as a connection string, this would connect to port 1 (refused) and dump "postgres". (No backslash:
        // MSBuild turns a backslash in an item into "/", which BKP6002 refuses.)
        const string name = "odd port=1 dbname=postgres ' x";
        var identifier = "\"" + name.Replace("\"", "\"\"") + "\"";
        _server.Sql("DROP DATABASE IF EXISTS " + identifier);
        _server.Sql("CREATE DATABASE " + identifier);
        _server.Sql("CREATE TABLE t (v text); INSERT INTO t VALUES ('in the odd database');",
            "dbname='" + name.Replace("\\", "\\\\").Replace("'", "\\'") + "'");
        _server.Sql("CREATE TABLE IF NOT EXISTS not_this (v text);");
        using var dir = new TempDir();
        var engine = new FakeBuildEngine();
        var task = new PostgresqlDump
        {
            BuildEngine = engine, CollectDir = dir["collect"], GroupSettings = PropsDefaults.Module(BackupBuild.Tasks.Settings.ModuleGroup.Postgresql,
                ("PostgresqlCompressMode", "none"), ("PostgresqlPassFile", _server.PassFile), ("PostgresqlPort", _server.Port.ToString())),
            User = PostgresServer.User, Host = _server.Host, ProgramSettings = PropsDefaults.Programs(),
            Databases = new Microsoft.Build.Framework.ITaskItem[] { new TaskItem(name) },
        };

        Assert.True(task.Execute(), engine.AllText);

        var dump = File.ReadAllText(Path.Combine(dir["collect"], $"postgresqldump-{name}.txt"));
        Assert.Contains("in the odd database", dump);
        Assert.DoesNotContain("not_this", dump);
    }
}
