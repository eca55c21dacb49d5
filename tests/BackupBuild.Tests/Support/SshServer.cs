using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A real OpenSSH server on 127.0.0.1 with its own port, host key, client key, authorized_keys
/// and known_hosts, in a temporary folder; stopped (with every session it started) on Dispose.
/// </summary>
public sealed class SshServer : IDisposable
{
    private readonly TempDir _dir = new();
    private Process? _sshd;

    public SshServer() : this("127.0.0.1") { }

    /// <summary>A server on another loopback address (127.0.0.x), for pools of several peers.</summary>
    public static SshServer On(string address) => new(address);

    private SshServer(string address)
    {
        Address = address;
        Tier.RequireFull("SshServer");
        Tool.Require("sshd");
        Tool.Require("ssh-keygen");
        Directory.CreateDirectory("/run/sshd"); // sshd's privilege-separation folder
        Keygen("host");
        Keygen("client");
        Keygen("stranger");
        Keygen("other-host");
        File.Copy(_dir["client.pub"], _dir["authorized_keys"]);
        Port = FreePort();
        File.WriteAllText(_dir["sshd_config"], $"""
            Port {Port}
            ListenAddress {address}
            HostKey {_dir["host"]}
            AuthorizedKeysFile {_dir["authorized_keys"]}
            PermitRootLogin yes
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PidFile none
            Subsystem sftp /usr/lib/openssh/sftp-server
            SetEnv SHLVL=1
            """);
        // SetEnv SHLVL=1: bash started by sshd reads ~/.bashrc only as a top-level shell (SHLVL below 2 before it
        // counts itself). The tests log in as root, and a test machine's root ~/.bashrc (pyenv here) can take
        // seconds per remote command: a peer's login files are not what these tests measure.
        File.WriteAllText(KnownHosts, $"[{address}]:{Port} {PublicKey("host")}\n");
        File.WriteAllText(WrongKnownHosts, $"[{address}]:{Port} {PublicKey("other-host")}\n");
        Start();
    }

    public int Port { get; }
    /// <summary>The loopback address it listens on.</summary>
    public string Address { get; }

    private int _logins;

    /// <summary>How many connections logged in so far (sshd's "Accepted publickey" lines): one per ssh, rsync or SSH.NET connection.</summary>
    public int Logins => Volatile.Read(ref _logins);
    public string ClientKey => _dir["client"];
    /// <summary>A key the server does not accept.</summary>
    public string StrangerKey => _dir["stranger"];
    public string KnownHosts => _dir["known_hosts"];
    /// <summary>A known_hosts file that expects a different host key for this server.</summary>
    public string WrongKnownHosts => _dir["known_hosts.wrong"];

    /// <summary>Peer metadata that reaches this server as root; <paramref name="overrides"/> replace or add values.</summary>
    public (string, string)[] PeerMetadata(string collectDir, params (string Name, string Value)[] overrides)
    {
        var meta = new List<(string Name, string Value)>
        {
            ("Type", "remote"), ("Host", Address), ("Port", Port.ToString()), ("User", "root"),
            ("IdentityFile", ClientKey), ("KnownHostsFile", KnownHosts), ("CollectDir", collectDir),
        };
        foreach (var o in overrides)
        {
            meta.RemoveAll(m => m.Name == o.Name);
            meta.Add(o);
        }
        return meta.Select(m => (m.Name, m.Value)).ToArray();
    }

    /// <summary>The ssh options for programs the tests run themselves (scp for Cedar, rsync for benchmarks).</summary>
    public string[] ClientOptions => new[]
    {
        "-i", ClientKey, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + KnownHosts,
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
    };

    /// <summary>
    /// Limits the client key to tools/backupbuild-ssh-gate for one collect dir (and project), as
    /// docs/remote-peers.md tells administrators to; sshd reads authorized_keys on every connection.
    /// </summary>
    public void UseGate(string collectDir, string? project = null)
    {
        var gate = Path.Combine(Repo.Root, "tools", "backupbuild-ssh-gate");
        var args = collectDir.TrimEnd('/') + (project == null ? "" : " " + project);
        File.WriteAllText(_dir["authorized_keys"], $"command=\"{gate} {args}\",restrict {File.ReadAllText(_dir["client.pub"])}");
    }

    /// <summary>
    /// Gives the server one more host key of <paramref name="type"/> (rsa, ecdsa, ed25519) and restarts it; returns its
    /// public key as "TYPE BASE64". sshd then offers both, and the client's host-key algorithm order picks one.
    /// </summary>
    public string AddHostKey(string type)
    {
        var name = "host-" + type;
        var r = Tool.Run("ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f", _dir[name]);
        if (r.ExitCode != 0) throw new InvalidOperationException("ssh-keygen failed: " + r.All);
        File.AppendAllText(_dir["sshd_config"], $"\nHostKey {_dir[name]}\n");
        Stop();
        Start();
        return PublicKey(name);
    }

    /// <summary>A host key's public half as known_hosts lists it ("TYPE BASE64"): "host", "other-host", "stranger"…</summary>
    public string PublicKey(string name) => string.Join(' ', File.ReadAllText(_dir[name + ".pub"]).Split(' ').Take(2));

    /// <summary>A new key pair in the server's folder; returns the private key's path.</summary>
    public string NewKey(string name)
    {
        Keygen(name);
        return _dir[name];
    }

    /// <summary>
    /// Replaces authorized_keys: each key (a private key path from <see cref="NewKey"/> or ClientKey) with
    /// its forced command, or none.
    /// </summary>
    public void Authorize(params (string Key, string? Command)[] keys)
    {
        var lines = keys.Select(k => (k.Command == null ? "" : $"command=\"{k.Command}\",restrict ") + File.ReadAllText(k.Key + ".pub").Trim());
        File.WriteAllText(_dir["authorized_keys"], string.Join("\n", lines) + "\n");
    }

    public void Start()
    {
        var info = new ProcessStartInfo("/usr/sbin/sshd") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-D", "-e", "-f", _dir["sshd_config"] }) info.ArgumentList.Add(a);
        _sshd = Process.Start(info)!;
        _sshd.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Accepted publickey") == true) Interlocked.Increment(ref _logins);
        };
        _sshd.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Parse(Address), Port);
                return;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new InvalidOperationException("sshd did not start on port " + Port);
    }

    /// <summary>
    /// Freezes the server (SIGSTOP): the kernel still accepts connections on its port, but nothing answers them, as with
    /// a hung machine. <see cref="Resume"/> (SIGCONT) or Dispose ends it.
    /// </summary>
    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (_sshd is not { HasExited: false } p) throw new InvalidOperationException("sshd is not running");
        var r = Tool.Run("kill", "-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (r.ExitCode != 0) throw new InvalidOperationException("kill -" + signal + " failed: " + r.All);
    }

    /// <summary>Stops the server and every session it is serving: connections drop mid-transfer.</summary>
    public void Stop()
    {
        if (_sshd is { HasExited: false }) _sshd.Kill(entireProcessTree: true);
        _sshd?.WaitForExit();
        _sshd = null;
    }

    public void Dispose()
    {
        Stop();
        _dir.Dispose();
    }

    /// <summary>A port with nothing listening on it.</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private void Keygen(string name)
    {
        var r = Tool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", _dir[name]);
        if (r.ExitCode != 0) throw new InvalidOperationException("ssh-keygen failed: " + r.All);
    }

}
