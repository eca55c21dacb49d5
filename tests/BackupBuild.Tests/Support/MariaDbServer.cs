using System.Diagnostics;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A real MariaDB server on 127.0.0.1 with its own data folder, socket and port, and a user
/// "backup" with a password (granted everything); stopped on Dispose. Admin statements run as
/// root through the socket (root has no password on this throw-away server).
/// </summary>
public sealed class MariaDbServer : IDisposable
{
    public const string User = "backup";
    public const string Password = "s3cret-Pw";

    private readonly TempDir _dir = new();
    private readonly Process _server;

    public MariaDbServer()
    {
        Tier.RequireFull("MariaDbServer");
        var installDb = Tool.Require("mariadb-install-db");
        var mariadbd = File.Exists("/usr/sbin/mariadbd") ? "/usr/sbin/mariadbd" : Tool.Require("mariadbd");
        Tool.Require("mariadb");
        Tool.Require("mariadb-dump");
        Port = SshServer.FreePort();
        var data = _dir.Dir("data");
        var install = Tool.Run(installDb, "--no-defaults", "--datadir=" + data, "--user=root",
            "--auth-root-authentication-method=normal", "--skip-test-db");
        if (install.ExitCode != 0) throw new InvalidOperationException("mariadb-install-db failed: " + install.All);
        _server = Process.Start(new ProcessStartInfo(mariadbd)
        {
            ArgumentList =
            {
                "--no-defaults", "--datadir=" + data, "--socket=" + Socket, "--port=" + Port, "--bind-address=127.0.0.1",
                "--user=root", "--pid-file=" + _dir["mariadbd.pid"], "--log-error=" + _dir["error.log"],
                "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--log-bin=" + _dir["binlog"],
            },
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        _server.StandardOutput.ReadToEndAsync();
        _server.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Admin("SELECT 1").ExitCode != 0)
        {
            if (_server.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException("mariadbd did not start: " + File.ReadAllText(_dir["error.log"]));
            Thread.Sleep(200);
        }
        Sql($"CREATE USER '{User}'@'localhost' IDENTIFIED BY '{Password}'; CREATE USER '{User}'@'127.0.0.1' IDENTIFIED BY '{Password}';" +
            $"GRANT ALL ON *.* TO '{User}'@'localhost'; GRANT ALL ON *.* TO '{User}'@'127.0.0.1';");
        OptionsFile = WriteOptions("client.cnf", Password, Socket);
    }

    public int Port { get; }
    public string Socket => _dir["mysqld.sock"];

    /// <summary>A my.cnf with the backup user's correct credentials and this server's socket (mode 0600).</summary>
    public string OptionsFile { get; }

    public string WriteOptions(string name, string password, string socket)
    {
        var path = _dir[name];
        File.WriteAllText(path, $"[client]\nuser={User}\npassword={password}\nsocket={socket}\nport={Port}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public Tool.Result Admin(string sql, string? database = null)
    {
        var args = new List<string> { "--no-defaults", "--socket=" + Socket, "-uroot", "--batch", "--skip-column-names", "-e", sql };
        if (database != null) args.Add(database);
        return Tool.Run("mariadb", args.ToArray());
    }

    /// <summary>Runs SQL as root and returns its output; fails the test when it fails.</summary>
    public string Sql(string sql, string? database = null)
    {
        var r = Admin(sql, database);
        if (r.ExitCode != 0) throw new InvalidOperationException($"mariadb -e \"{sql}\": {r.All}");
        return r.Output.Trim();
    }

    /// <summary>Loads a plain SQL dump as root.</summary>
    public void Load(string sqlText)
    {
        var file = _dir.File("load-" + Guid.NewGuid().ToString("N")[..6] + ".sql", sqlText);
        Sql("source " + file);
    }

    public void Dispose()
    {
        try
        {
            if (!_server.HasExited)
            {
                Tool.Run("mariadb-admin", "--no-defaults", "--socket=" + Socket, "-uroot", "shutdown");
                if (!_server.WaitForExit(20000)) _server.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        _server.Dispose();
        _dir.Dispose();
    }
}
