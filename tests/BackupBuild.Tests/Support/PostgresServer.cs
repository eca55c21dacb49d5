namespace BackupBuild.Tests.Support;

/// <summary>
/// A real PostgreSQL server on 127.0.0.1 with its own data folder, socket folder and port, run as the
/// system user "postgres" (the server refuses root), with password (scram) authentication everywhere
/// and a superuser "backup" with a password; stopped on Dispose.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string User = "backup";
    public const string Password = "pg-s3cret";
    private const string SuperPassword = "super-pw";

    private readonly TempDir _dir = new();
    private readonly string _bin;
    private bool _started;

    public PostgresServer()
    {
        Tier.RequireFull("PostgresServer");
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault() ?? ""
            : "";
        if (_bin == "") throw new Xunit.Sdk.XunitException("PostgreSQL's server (initdb) is not installed; ./test.sh installs what the tests need.");
        Tool.Require("runuser");
        Tool.Require("pg_dump");
        Port = SshServer.FreePort();
        _dir.File("superpw", SuperPassword + "\n");
        Chown(_dir.Path);
        var init = AsPostgres(Path.Combine(_bin, "initdb"), "-D", Data, "-U", "postgres", "--auth=scram-sha-256",
            "--pwfile=" + _dir["superpw"], "--no-sync", "--encoding=UTF8", "--locale=C");
        if (init.ExitCode != 0) throw new InvalidOperationException("initdb failed: " + init.All);
        var start = AsPostgres(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-l", _dir["server.log"], "-w", "-t", "60",
            "-o", $"-k {_dir.Path} -p {Port} -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        if (start.ExitCode != 0) throw new InvalidOperationException("pg_ctl start failed: " + start.All + ReadLog());
        _started = true;
        Sql($"CREATE ROLE {User} LOGIN SUPERUSER PASSWORD '{Password}'");
        PassFile = WritePassFile("pgpass", Password);
    }

    public int Port { get; }
    public string Host => "127.0.0.1";
    private string Data => _dir["data"];

    /// <summary>A password file with the backup user's correct password for this server (mode 0600).</summary>
    public string PassFile { get; }

    public string WritePassFile(string name, string password)
    {
        var path = _dir[name];
        File.WriteAllText(path, $"{Host}:{Port}:*:{User}:{password}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>Runs SQL as the superuser through TCP and returns its output; fails the test when it fails.</summary>
    public string Sql(string sql, string database = "postgres") => Psql(database, "-c", sql);

    /// <summary>Loads a plain SQL dump into a database.</summary>
    public void Load(string sqlText, string database)
    {
        var file = _dir.File("load-" + Guid.NewGuid().ToString("N")[..6] + ".sql", sqlText);
        Psql(database, "-f", file);
    }

    private string Psql(string database, params string[] args)
    {
        var all = new List<string> { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", Host, "-p", Port.ToString(), "-U", "postgres", "-d", database };
        all.AddRange(args);
        var r = Tool.RunWith(null, new Dictionary<string, string?> { ["PGPASSWORD"] = SuperPassword }, TimeSpan.FromMinutes(2),
            Path.Combine(_bin, "psql"), all.ToArray());
        if (r.ExitCode != 0) throw new InvalidOperationException($"psql {string.Join(' ', args)}: {r.All}");
        return r.Output.Trim();
    }

    private static Tool.Result AsPostgres(string program, params string[] args) =>
        Tool.Run("runuser", new[] { "-u", "postgres", "--", program }.Concat(args).ToArray());

    private static void Chown(string path)
    {
        var r = Tool.Run("chown", "-R", "postgres:postgres", path);
        if (r.ExitCode != 0) throw new InvalidOperationException("chown: " + r.All);
    }

    private string ReadLog() => File.Exists(_dir["server.log"]) ? File.ReadAllText(_dir["server.log"]) : "";

    public void Dispose()
    {
        if (_started) AsPostgres(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop");
        _dir.Dispose();
    }
}
