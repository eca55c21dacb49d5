using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace BackupBuild.Tests.Deploy;

/// <summary>
/// Issue 18, point 13: the pool of docs/deploy.md — master backup1, clients web1 and db1 (MariaDB), the request queue
/// between web1 and backup1 — built on three machines made of namespaces (<see cref="NetnsPool"/>) by running the
/// manual's own blocks (the ones marked <c>&lt;!-- netns-test: … --&gt;</c> in deploy.md, remote-peers.md,
/// request-queue.md and databases.md) verbatim, as root, on the machines they name. The site repository's files are
/// the manual's blocks too. Then the cron lines InstallSchedule wrote run as cron runs them (their user, cron's
/// environment, /bin/sh -c) through a simulated week (BackupRunDate in the environment), with a client down on
/// Thursday and a client's host key changed on Friday; then a file and a database are restored as the manual says.
/// What the test adds is only what the manual leaves to the administrator: the package in the feed folder (packed
/// once per test run, its version put where the manual writes 1.0.0), the repository URL, copying public keys
/// between machines, and the data.
/// </summary>
public sealed class NetnsDeploymentTests
{
    private static readonly string[] Names = { "backup1", "web1", "db1" };
    private static readonly string[] Week =
        { "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29" };
    private const int DbDown = 3, WebKeyChanged = 4;
    private const string RepositoryUrl = "https://git.example.org/ops/backup-config.git";

    private readonly ITestOutputHelper _output;
    private DocBlocks _docs = null!;
    private NetnsPool _pool = null!;
    private SdkPackage _package = null!;

    public NetnsDeploymentTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void A_pool_deployed_from_the_manual_backs_up_a_week_and_restores_a_file_and_a_database()
    {
        _docs = new DocBlocks("docs/deploy.md", "docs/remote-peers.md", "docs/request-queue.md", "docs/extensions/databases.md");
        _package = SdkPackage.Shared;
        using var site = new TempDir();
        var siteRepo = WriteSiteRepository(site);
        foreach (var f in new[] { _package.Feed, _package.Nupkg }) Tool.Run("chmod", "a+rX", f);
        using var pool = new NetnsPool(Names, ("/srv/git/backup-config.git", siteRepo), ("/srv/nuget", _package.Feed));
        _pool = pool;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        StartMariaDb();
        WriteWebData(0);
        Log($"machines up after {clock.Elapsed.TotalSeconds:0} s");

        // docs/deploy.md, step 2: Debian's own backup user (nologin, /var/backups) is mended, not refused.
        Assert.Contains("/usr/sbin/nologin", _pool.Must("web1", "getent passwd backup"));
        foreach (var m in Names)
        {
            var users = RunBlock("users", m);
            Assert.Contains("/var/lib/backupbuild:/bin/sh", users);
        }
        // Step 3: the clone and the first Validate (which fetches the package).
        foreach (var m in Names) RunBlock("clone", m);
        RunBlock("mysql", "db1");
        foreach (var m in Names) RunBlock("validate", m);
        Log($"validated after {clock.Elapsed.TotalSeconds:0} s");
        // Step 4: the master's key, the clients' gates, the check.
        RunBlock("keys-master", "backup1");
        foreach (var c in new[] { "web1", "db1" })
        {
            CopyFile("backup1", "/root/.ssh/backupbuild_ed25519.pub", c, "/root/backupbuild_ed25519.pub");
            RunBlock("gate", c);
        }
        RunChecks("check", "backup1");
        // The request queue, request-queue.md steps 1 to 4.
        foreach (var m in new[] { "backup1", "web1" }) RunBlock("request-keys", m);
        RunBlock("request-hostkeys-server", "backup1");
        RunBlock("request-hostkeys-client", "web1");
        CopyFile("web1", "/var/lib/backupbuild/.ssh/id_ed25519.pub", "backup1", "/root/web1.pub");
        CopyFile("backup1", "/var/lib/backupbuild/.ssh/id_ed25519.pub", "web1", "/root/backup1.pub");
        RunBlock("request-gate-server", "backup1");
        RunBlock("request-gate-client", "web1");
        RunChecks("request-check-client", "web1");
        RunChecks("request-check-server", "backup1");
        // Step 5: the first runs by hand.
        InsertOrder(0);
        // The simulated clock: the first runs by hand happen the day before the first night of the week (time runs forward).
        const string dayBefore = "BackupRunDate=2026-11-22T12:00";
        RunBlock("first-run", "web1", dayBefore);
        RunBlock("first-run", "db1", dayBefore);
        RunBlock("first-run", "backup1", dayBefore);
        Log($"first runs done after {clock.Elapsed.TotalSeconds:0} s");
        // Step 6: the schedule.
        var crontabs = new Dictionary<string, Crontab>();
        foreach (var m in Names)
        {
            RunBlock("schedule", m);
            crontabs[m] = Crontab.Parse(_pool.Must(m, "cat /etc/cron.d/backupbuild"));
            Assert.Equal("-rw-r--r-- root root", _pool.Must(m, "stat -c '%A %U %G' /etc/cron.d/backupbuild").Trim());
        }
        Assert.Equal(new[] { "Collect", "Stage", "Store", "Purge", "Report", "ProcessRequests", "Verify", "RequestSummary" }.Order(),
            crontabs["backup1"].Lines.Select(l => l.Target).Order());
        Assert.Equal(new[] { "Collect", "Purge", "RequestAll", "SendRequests" }.Order(), crontabs["web1"].Lines.Select(l => l.Target).Order());
        Assert.Equal(new[] { "Collect", "Purge" }, crontabs["db1"].Lines.Select(l => l.Target));
        Assert.All(crontabs.Values.SelectMany(c => c.Lines),
            l => Assert.Equal(l.Target is "RequestAll" or "SendRequests" or "ProcessRequests" or "RequestSummary" ? "backup" : "root", l.User));

        // The week, as cron runs it.
        var expectedWeb = new List<Dictionary<string, string>>();
        var expectedOrders = new List<int>();
        for (var day = 0; day < Week.Length; day++)
        {
            if (day > 0) WriteWebData(day);
            if (day > 0) InsertOrder(day);
            expectedWeb.Add(WebTree());
            expectedOrders.Add(day + 1);
            RunDay(day, crontabs);
            Log($"{Week[day]} done after {clock.Elapsed.TotalSeconds:0} s");
        }

        // Restore a file as of Wednesday, on the master (docs/actions/restore.md).
        var restore = _pool.Run("backup1", "cd /etc/backupbuild && dotnet msbuild backup.proj -t:Restore -nologo -v:m " +
            "-p:RestorePeer=web1 -p:RestorePath=/srv/www -p:RestoreDate=2026-11-25 -p:RestoreTo=/tmp/restore");
        Assert.True(restore.ExitCode == 0, restore.All);
        var restored = Tree("backup1", "/tmp/restore/srv/www");
        Assert.Equal(expectedWeb[2], restored);

        // Restore the database dump of Tuesday into a new database (docs/extensions/databases.md).
        var dump = _pool.Run("backup1", "cd /etc/backupbuild && dotnet msbuild backup.proj -t:Restore -nologo -v:m " +
            "-p:RestorePeer=db1 -p:RestoreOutput=mysqldump-shop.txt.bz2 -p:RestoreDate=2026-11-24 -p:RestoreTo=/tmp/r");
        Assert.True(dump.ExitCode == 0, dump.All);
        _pool.Must("db1", "mkdir -p /tmp/r");
        CopyFile("backup1", "/tmp/r/mysqldump-shop.txt.bz2", "db1", "/tmp/r/mysqldump-shop.txt.bz2");
        RunBlock("mysql-restore", "db1");
        Assert.Equal(expectedOrders[1].ToString(), _pool.Must("db1", "mariadb -N -e 'SELECT COUNT(*) FROM shop_restored.orders'").Trim());
        Assert.Equal(expectedOrders[^1].ToString(), _pool.Must("db1", "mariadb -N -e 'SELECT COUNT(*) FROM shop.orders'").Trim());
        Log($"done after {clock.Elapsed.TotalSeconds:0} s");
    }

    /// <summary>One day of the week: every line due that day on every machine, in the order of their times.</summary>
    private void RunDay(int day, Dictionary<string, Crontab> crontabs)
    {
        var date = DateTime.Parse(Week[day], System.Globalization.CultureInfo.InvariantCulture);
        var due = crontabs.SelectMany(c => c.Value.Lines.Where(l => l.Due(date)).Select(l => (Machine: c.Key, Line: l)))
            .OrderBy(x => x.Line.TimeOfDay(date)).ThenBy(x => Order(x.Line.Target)).ToList();
        if (day == WebKeyChanged)
        {
            _pool.NewHostKeys("web1");
            Log("web1 was reinstalled: new host keys");
        }
        // Lines of the same time on different machines run at once, as their crons would start them.
        foreach (var group in due.GroupBy(x => (x.Line.TimeOfDay(date), Order(x.Line.Target))))
        {
            if (day == DbDown && group.Any(x => x.Machine == "backup1" && x.Line.Target == "Stage")) _pool.Sshd("db1", running: false);
            var at = date + group.Key.Item1;
            var runs = group.Select(x => (x.Machine, x.Line, Run: Task.Run(() => _pool.RunAsCron(x.Machine, x.Line.User, x.Line.Command,
                crontabs[x.Machine].Environment,
                "BackupRunDate=" + at.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture))))).ToList();
            foreach (var (machine, line, run) in runs) Check(day, machine, line, run.GetAwaiter().GetResult());
            if (day == DbDown && group.Any(x => x.Machine == "backup1" && x.Line.Target == "Store")) _pool.Sshd("db1", running: true);
        }
        if (day == WebKeyChanged)
        {
            // The administrator checks the new key and records it, as remote-peers.md and request-queue.md say.
            RunBlock("hostkey-changed", "backup1");
            RunBlock("request-hostkey-changed", "backup1");
        }
    }

    private void Check(int day, string machine, CronLine line, Tool.Result r)
    {
        {
            Log($"{Week[day]} {line.Time} {machine} {line.User} -t:{line.Target}: exit {r.ExitCode}");
            var expectFailure = ExpectedFailure(day, machine, line.Target);
            if (expectFailure == null)
                Assert.True(r.ExitCode == 0, $"{Week[day]} {machine} -t:{line.Target} as {line.User} failed:\n{r.All}");
            else
            {
                Assert.True(r.ExitCode != 0, $"{Week[day]} {machine} -t:{line.Target} should have failed:\n{r.All}");
                Assert.Matches(expectFailure, r.All);
            }
        }
    }

    /// <summary>The day's failures the story makes, and what their messages say; null: the line must succeed.</summary>
    private static string? ExpectedFailure(int day, string machine, string target) => (day, machine, target) switch
    {
        (DbDown, "backup1", "Stage") => @"BKP3050[^\n]*db1",
        (WebKeyChanged, "backup1", "Stage") => @"BKP3052[^\n]*web1[^\n]*/etc/backupbuild-known_hosts",
        (WebKeyChanged, "backup1", "ProcessRequests") => @"web1[^\n]*host key[^\n]*known_hosts",
        // Sunday's Verify names the two days those failures left unstored, each peer's own (docs/reliability.md).
        (6, "backup1", "Verify") => @"BKP8050[^\n]*db1[^\n]*2026-11-26(.|\n)*BKP8050[^\n]*web1[^\n]*2026-11-27",
        _ => null,
    };

    private static int Order(string target) => target switch
    {
        "Collect" => 0, "RequestAll" => 1, "SendRequests" => 2, "ProcessRequests" => 3, "Stage" => 4, "Store" => 5, "Purge" => 6,
        "Report" => 7, "RequestSummary" => 8, "Verify" => 9, _ => 10,
    };

    /// <summary>A cron.d file: its variable lines and its command lines.</summary>
    private sealed record Crontab(string[] Environment, CronLine[] Lines)
    {
        public static Crontab Parse(string text)
        {
            var env = new List<string>();
            var lines = new List<CronLine>();
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var assignment = Regex.Match(line, @"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$");
                if (assignment.Success && !char.IsDigit(line[0]))
                {
                    env.Add(assignment.Groups[1].Value + "=" + assignment.Groups[2].Value);
                    continue;
                }
                var f = Regex.Match(line, @"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$");
                Assert.True(f.Success, "not a cron.d line: " + line);
                lines.Add(new CronLine(f.Groups[1].Value, f.Groups[2].Value, f.Groups[3].Value, f.Groups[4].Value, f.Groups[5].Value,
                    f.Groups[6].Value, f.Groups[7].Value));
            }
            return new Crontab(env.ToArray(), lines.ToArray());
        }
    }

    private sealed record CronLine(string Minute, string Hour, string DayOfMonth, string Month, string DayOfWeek, string User, string Command)
    {
        public string Target => Regex.Match(Command, @"-t:(\w+)").Groups[1].Value;
        public string Time => $"{Hour}:{Minute}";

        public bool Due(DateTime day) =>
            DayOfMonth == "*" && Month == "*" && (DayOfWeek == "*" || DayOfWeek.Split(',').Contains(((int)day.DayOfWeek).ToString()));

        /// <summary>When it runs that day; a line every N minutes runs once, five minutes after the hour of the one before it.</summary>
        public TimeSpan TimeOfDay(DateTime day) => Minute.StartsWith("*/", StringComparison.Ordinal)
            ? (Target == "SendRequests" ? new TimeSpan(1, 35, 0) : new TimeSpan(1, 40, 0))
            : new TimeSpan(int.Parse(Hour), int.Parse(Minute), 0);
    }

    private string RunBlock(string name, string machine, params string[] environment)
    {
        var block = _docs.Named(name).Single(b => b.Machines.Length == 0 || b.Machines.Contains(machine));
        var script = "set -e\n" + Adapt(block.Text);
        var r = _pool.Run(machine, script, "/root", null, environment);
        Assert.True(r.ExitCode == 0, $"{block.Page}, block \"{name}\" on {machine} failed (exit {r.ExitCode}):\n{block.Text}\n---\n{r.All}");
        return r.Output;
    }

    /// <summary>A block of checks: each line is run alone and must exit as its comment says ("# exit N").</summary>
    private void RunChecks(string name, string machine)
    {
        var block = _docs[name];
        foreach (var line in block.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var expected = int.Parse(Regex.Match(line, @"exit (\d+)\s*$").Groups[1].Value);
            var r = _pool.Run(machine, Adapt(line));
            Assert.True(r.ExitCode == expected, $"{block.Page}: `{line}` on {machine} exited {r.ExitCode}, not {expected}:\n{r.All}");
        }
    }

    /// <summary>The two things of the manual's text a test machine must differ in: the package version and the repository URL.</summary>
    private string Adapt(string text) =>
        text.Replace("1.0.0", _package.Version, StringComparison.Ordinal).Replace(RepositoryUrl, "/srv/git/backup-config.git", StringComparison.Ordinal);

    /// <summary>The site repository: backup.proj, nuget.config and peers/*.props from the manual's blocks, as a bare repository.</summary>
    private string WriteSiteRepository(TempDir t)
    {
        var work = t.Dir("work");
        foreach (var block in _docs.All.Where(b => b.Name.StartsWith("file ", StringComparison.Ordinal)))
        {
            var path = Path.Combine(work, block.Name["file ".Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Adapt(block.Text));
        }
        foreach (var block in _docs.All.Where(b => b.Name.StartsWith("add ", StringComparison.Ordinal)))
        {
            var path = Path.Combine(work, block.Name["add ".Length..]);
            var text = File.ReadAllText(path);
            var end = text.LastIndexOf("</Project>", StringComparison.Ordinal);
            File.WriteAllText(path, text[..end] + Adapt(block.Text) + text[end..]);
        }
        foreach (var args in new[]
                 {
                     new[] { "init", "-q", "-b", "main" }, new[] { "add", "-A" },
                     new[] { "-c", "user.name=admin", "-c", "user.email=admin@example.org", "commit", "-q", "-m", "The pool of docs/deploy.md" },
                 })
        {
            var r = Tool.RunIn(work, "git", args);
            Assert.True(r.ExitCode == 0, r.All);
        }
        var bare = t["backup-config.git"];
        var clone = Tool.Run("git", "clone", "-q", "--bare", work, bare);
        Assert.True(clone.ExitCode == 0, clone.All);
        Tool.Run("chmod", "-R", "a+rX", bare);
        return bare;
    }

    private void StartMariaDb()
    {
        _pool.Must("db1", """
            set -e
            rm -rf /var/lib/mysql /var/log/mysql && install -d -o mysql -g mysql -m 0700 /var/lib/mysql /var/log/mysql
            mariadb-install-db --no-defaults --user=mysql --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=socket >/var/log/mariadb-install.log 2>&1
            nohup /usr/sbin/mariadbd --no-defaults --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
                --skip-networking --pid-file=/run/mysqld/mysqld.pid --log-error=/var/log/mysql/error.log --innodb-buffer-pool-size=16M \
                --log-bin=/var/lib/mysql/binlog >/dev/null 2>&1 &
            for i in $(seq 1 300); do mariadb -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
            mariadb -e "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40)) ENGINE=InnoDB"
            """);
    }

    private void InsertOrder(int day) =>
        _pool.Must("db1", $"mariadb -e \"INSERT INTO shop.orders VALUES ({day + 1}, 'order of {Week[day]}')\"");

    /// <summary>web1's site: an index changed every day, one post per day, and the post of two days before removed.</summary>
    private void WriteWebData(int day)
    {
        var www = _pool.HostPath("web1", "/srv/www");
        Directory.CreateDirectory(Path.Combine(www, "blog"));
        File.WriteAllText(Path.Combine(www, "index.html"), $"<h1>web1 on {Week[day]}</h1>\n");
        File.WriteAllText(Path.Combine(www, "blog", $"post-{day}.html"), $"post of {Week[day]}\n");
        if (day >= 2) File.Delete(Path.Combine(www, "blog", $"post-{day - 2}.html"));
        // Modes set, not left to the test host's umask (077 while another test runs a task in-process).
        File.SetUnixFileMode(www, NetnsPool.WorldReadable);
        File.SetUnixFileMode(Path.Combine(www, "blog"), NetnsPool.WorldReadable);
        foreach (var f in Directory.GetFiles(www, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(f, (UnixFileMode)0b110_100_100);
            File.SetLastWriteTimeUtc(f, DateTime.Parse(Week[day], System.Globalization.CultureInfo.InvariantCulture).AddHours(-3));
        }
    }

    private Dictionary<string, string> WebTree()
    {
        var www = _pool.HostPath("web1", "/srv/www");
        return Directory.GetFiles(www, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(www, f), File.ReadAllText);
    }

    private Dictionary<string, string> Tree(string machine, string folder)
    {
        var host = _pool.HostPath(machine, folder);
        Assert.True(Directory.Exists(host), $"nothing was restored into {folder} on {machine}");
        return Directory.GetFiles(host, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(host, f), File.ReadAllText);
    }

    /// <summary>Copies a file between machines as an administrator does with scp (a public key, a restored dump).</summary>
    private void CopyFile(string from, string path, string to, string destination)
    {
        if (path.StartsWith("/tmp/", StringComparison.Ordinal) && destination.StartsWith("/tmp/", StringComparison.Ordinal))
        {
            File.Copy(_pool.HostPath(from, path), _pool.HostPath(to, destination), overwrite: true);
            return;
        }
        var text = _pool.Must(from, $"base64 -w0 '{path}'");
        _pool.Must(to, $"printf '%s' '{text.Trim()}' | base64 -d > '{destination}'");
    }

    private void Log(string line) => _output.WriteLine(line);
}
