using System.Diagnostics;
using System.Text;

namespace BackupBuild.Tests.Support;

/// <summary>
/// Machines made of Linux namespaces on the test machine, for tests that deploy a pool the way an administrator does
/// (docs/deploy.md). Each machine is a process (`sleep infinity`, PID 1 of its own PID namespace) holding its own
/// mount, UTS, network and IPC namespaces: its own host name; `/etc` and `/var` as overlays of the test machine's
/// (so users, `/etc/cron.d`, `/var/lib/backupbuild` and `/var/log` are its own and start as a stock system's, with
/// Debian's `backup` user), and its own empty `/root`, `/srv` and `/run`; an sshd on port 22 with host keys of its own.
/// The machines are connected by veth pairs to a bridge inside one more namespace (the "switch"), with addresses in
/// 10.213.0.0/24 and their names in each machine's `/etc/hosts`: nothing is added to the test machine's own network,
/// mounts or files outside the pool's temporary folder. Dispose kills each namespace's PID 1, which ends every process
/// in it (sshd, mariadbd, a hung run), and the namespaces, mounts and links go with it.
/// </summary>
public sealed class NetnsPool : IDisposable
{
    /// <summary>The environment of an administrator's root shell inside a machine (nothing of the test host's).</summary>
    public static readonly string[] RootEnvironment =
    {
        "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "LANG=C.UTF-8", "TERM=dumb",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };

    private readonly TempDir _dir = new();
    private readonly List<Process> _holders = new();
    private readonly Dictionary<string, Machine> _machines = new(StringComparer.Ordinal);
    private int _switchPid;

    public sealed record Machine(string Name, string Address, int Pid, string Folder);

    private readonly (string Inside, string Outside)[] _shared;

    /// <summary>
    /// Makes the machines; <paramref name="shared"/> are folders of the test machine that every machine sees below /srv
    /// (as an NFS export would be: the site repository, the package feed).
    /// </summary>
    public NetnsPool(string[] names, params (string Inside, string Outside)[] shared)
    {
        _shared = shared;
        Tier.RequireFull("NetnsPool");
        foreach (var program in new[] { "unshare", "nsenter", "ip", "setpriv", "sshd", "ssh-keygen" }) Tool.Require(program);
        try
        {
            _switchPid = Hold("--net");
            Must(Enter(_switchPid, "-n", "/bin/sh", "-c", "ip link set lo up && ip link add br0 type bridge && ip link set br0 up"), "the switch's bridge");
            var hosts = new StringBuilder("\n# the pool of NetnsPool\n");
            for (var i = 0; i < names.Length; i++)
                hosts.Append($"10.213.0.{11 + i} {names[i]} {names[i]}.example.org\n");
            for (var i = 0; i < names.Length; i++) Add(names[i], $"10.213.0.{11 + i}", hosts.ToString());
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Folder => _dir.Path;
    public Machine this[string name] => _machines[name];
    public IEnumerable<Machine> Machines => _machines.Values;

    /// <summary>Where a path inside a machine's /root, /srv or /tmp is on the test machine (those are bind mounts).</summary>
    public string HostPath(string machine, string path)
    {
        foreach (var top in new[] { "/root", "/srv", "/tmp" })
            if (path == top || path.StartsWith(top + "/", StringComparison.Ordinal))
                return Path.Combine(_machines[machine].Folder, top.TrimStart('/')) + path[top.Length..];
        throw new ArgumentException("only /root and /srv of a machine are reachable from the test: " + path);
    }

    /// <summary>Runs a bash script as root in a machine, in <paramref name="cwd"/>, with a root shell's environment.</summary>
    public Tool.Result Run(string machine, string script, string cwd = "/root", TimeSpan? timeout = null, params string[] environment)
    {
        var m = _machines[machine];
        // No --wd: nsenter resolves it before it enters the mount namespace (the test machine's folder).
        var args = new List<string> { "-t", m.Pid.ToString(), "-m", "-u", "-n", "-p", "-i", "--", "env", "-i" };
        args.AddRange(RootEnvironment);
        args.AddRange(environment);
        args.AddRange(new[] { "/bin/bash", "-c", Guard(machine) + "cd \"$0\" || exit 98\n" + script, cwd });
        return Tool.RunWith("/", null, timeout ?? TimeSpan.FromMinutes(10), "nsenter", args.ToArray());
    }

    /// <summary>Like <see cref="Run"/>, failing the test when the script fails.</summary>
    public string Must(string machine, string script, string cwd = "/root")
    {
        var r = Run(machine, script, cwd);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException($"on {machine}, exit {r.ExitCode}:\n{script}\n---\n{r.All}");
        return r.Output;
    }

    /// <summary>
    /// Runs a command line the way cron runs a cron.d line: as <paramref name="user"/> (its uid, gid and groups), in
    /// its home folder, through `/bin/sh -c`, with cron's environment only (SHELL, HOME, LOGNAME, PATH=/usr/bin:/bin)
    /// plus the file's own variable lines and <paramref name="extra"/> (the simulated day).
    /// </summary>
    public Tool.Result RunAsCron(string machine, string user, string command, IEnumerable<string> fileEnvironment, params string[] extra)
    {
        var m = _machines[machine];
        var script = Guard(machine) + """
            entry=$(getent passwd "$1") || { echo "no user $1" >&2; exit 97; }
            home=$(printf '%s' "$entry" | cut -d: -f6)
            cd "$home" || exit 98
            user=$1; command=$2; shift 2
            exec env -i SHELL=/bin/sh HOME="$home" LOGNAME="$user" PATH=/usr/bin:/bin "$@" \
                setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- /bin/sh -c "$command"
            """;
        var args = new List<string> { "-t", m.Pid.ToString(), "-m", "-u", "-n", "-p", "-i", "--", "env", "-i" };
        args.AddRange(RootEnvironment);
        args.AddRange(new[] { "/bin/bash", "-c", script, "cron", user, command });
        args.AddRange(fileEnvironment);
        args.AddRange(extra);
        return Tool.RunWith("/", null, TimeSpan.FromMinutes(15), "nsenter", args.ToArray());
    }

    /// <summary>Stops a machine's sshd (the peer is "down" for ssh) or starts it again.</summary>
    public void Sshd(string machine, bool running)
    {
        if (running) Must(machine, "/usr/sbin/sshd -E /var/log/sshd.log");
        else Must(machine, "kill $(cat /run/sshd.pid) && while [ -e /run/sshd.pid ]; do sleep 0.1; done");
    }

    /// <summary>Gives a machine new host keys (a reinstalled machine) and restarts its sshd.</summary>
    public void NewHostKeys(string machine)
    {
        Sshd(machine, running: false);
        Must(machine, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null");
        Sshd(machine, running: true);
    }

    private void Add(string name, string address, string hosts)
    {
        var folder = _dir.Dir(name);
        foreach (var d in new[] { "etc.up", "etc.work", "var.up", "var.work", "usr-local.up", "usr-local.work", "root", "srv", "tmp" })
        {
            // Explicit modes: the test host's umask can be 077 at any moment (tasks run in-process by other tests
            // restrict it while they run), and an overlay's upper folder gives the machine's /etc or /var its mode.
            Directory.CreateDirectory(Path.Combine(folder, d));
            File.SetUnixFileMode(Path.Combine(folder, d), WorldReadable);
        }
        File.SetUnixFileMode(Path.Combine(folder, "root"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Path.Combine(folder, "tmp"), (UnixFileMode)0b1_111_111_111);
        foreach (var (inside, outside) in _shared)
            File.SetUnixFileMode(Directory.CreateDirectory(Path.Combine(folder, "srv", inside["/srv/".Length..])).FullName, WorldReadable);
        var pid = Hold("--mount", "--uts", "--net", "--ipc");
        // The mounts come first, and every later script checks it runs on them (Guard): nothing may touch the host's /etc.
        var setup = $"""
            set -e
            mount -t overlay overlay -o lowerdir=/etc,upperdir={folder}/etc.up,workdir={folder}/etc.work /etc
            mount -t overlay overlay -o lowerdir=/var,upperdir={folder}/var.up,workdir={folder}/var.work /var
            mount --bind {folder}/root /root
            mount -t overlay overlay -o lowerdir=/usr/local,upperdir={folder}/usr-local.up,workdir={folder}/usr-local.work /usr/local
            mount --bind {folder}/srv /srv
            {string.Concat(_shared.Select(s => $"mount --bind {s.Outside} {s.Inside}\n"))}
            mount --bind {folder}/tmp /tmp
            mount -t tmpfs -o mode=0755 tmpfs /run
            printf '%s\n' {name} > /etc/bkp-netns-machine
            """;
        Must(Enter(pid, "-m", "/bin/sh", "-c", setup), "the mounts of " + name);
        _machines[name] = new Machine(name, address, pid, folder);
        Must(name, $"""
            set -e
            hostname {name}
            printf '%s\n' {name} > /etc/hostname
            printf '%s' '{hosts}' >> /etc/hosts
            rm -rf /etc/cron.d/* /var/log/backupbuild* /var/lib/backupbuild /etc/backupbuild
            mkdir -p /run/sshd /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
            ip link set lo up
            """);
        Must(Enter(_switchPid, "-n", "ip", "link", "add", "v-" + name, "type", "veth", "peer", "name", "eth0", "netns", pid.ToString()), "veth of " + name);
        Must(Enter(_switchPid, "-n", "/bin/sh", "-c", $"ip link set v-{name} master br0 && ip link set v-{name} up"), "bridge port of " + name);
        Must(name, $"ip addr add {address}/24 dev eth0 && ip link set eth0 up");
        // A fresh machine: its own host keys; sshd as Debian runs it, except pam_loginuid, which a namespace cannot set.
        Must(name, """
            set -e
            rm -f /etc/ssh/ssh_host_*
            ssh-keygen -A >/dev/null
            sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
            /usr/sbin/sshd -E /var/log/sshd.log
            """);
    }

    /// <summary>rwxr-xr-x: what a stock system's folders have.</summary>
    internal const UnixFileMode WorldReadable = (UnixFileMode)0b111_101_101;

    // umask 022 as a Debian login or cron job starts with, not whatever the test host's umask is at that moment.
    private static string Guard(string machine) =>
        $"[ \"$(cat /etc/bkp-netns-machine 2>/dev/null)\" = {machine} ] || {{ echo 'not inside machine {machine}' >&2; exit 99; }}\numask 022\n";

    /// <summary>Starts a namespace holder; returns the PID (on the test machine) of its PID 1.</summary>
    private int Hold(params string[] namespaces)
    {
        var info = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--fork", "--pid", "--mount-proc", "--kill-child", "--propagation", "private" }.Concat(namespaces)
                     .Concat(new[] { "--", "sleep", "infinity" }))
            info.ArgumentList.Add(a);
        if (!namespaces.Contains("--mount")) info.ArgumentList.Insert(0, "--mount");
        var p = Process.Start(info)!;
        _holders.Add(p);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (p.HasExited)
                throw new Xunit.Sdk.XunitException("unshare could not make the namespaces (root and a kernel with user, mount, " +
                    "UTS, network and PID namespaces are needed): " + p.StandardError.ReadToEnd());
            var children = File.ReadAllText($"/proc/{p.Id}/task/{p.Id}/children").Trim();
            if (children.Length > 0) return int.Parse(children.Split(' ')[0]);
            Thread.Sleep(20);
        }
        throw new Xunit.Sdk.XunitException("unshare started no namespace");
    }

    private static Tool.Result Enter(int pid, string ns, params string[] command) =>
        Tool.RunWith("/", null, TimeSpan.FromMinutes(2), "nsenter", new[] { "-t", pid.ToString(), ns, "--" }.Concat(command).ToArray());

    private static void Must(Tool.Result r, string what)
    {
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException($"could not make {what}: {r.All}");
    }

    public void Dispose()
    {
        foreach (var p in _holders)
        {
            try
            {
                // SIGKILL to the namespace's PID 1 ends every process in its PID namespace; unshare then exits.
                var children = File.Exists($"/proc/{p.Id}/task/{p.Id}/children") ? File.ReadAllText($"/proc/{p.Id}/task/{p.Id}/children").Trim() : "";
                foreach (var c in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    Process.GetProcessById(int.Parse(c)).Kill();
                if (!p.WaitForExit(20000)) p.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException) { }
            p.Dispose();
        }
        _holders.Clear();
        _dir.Dispose();
    }
}
