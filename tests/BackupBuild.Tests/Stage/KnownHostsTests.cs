using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Stage;

/// <summary>Two real sshd: one with an ed25519 host key only, one with ed25519 and RSA host keys; and spare keys.</summary>
public sealed class KnownHostsServers : IDisposable
{
    private readonly TempDir _dir = new();

    public KnownHostsServers()
    {
        Single = new SshServer();
        Double = new SshServer();
        DoubleRsa = Double.AddHostKey("rsa");
        StrangerRsa = Key("stranger-rsa", "rsa");
        Ca = Key("ca", "ed25519");
    }

    public SshServer Single { get; }
    public SshServer Double { get; }
    /// <summary>The RSA host key of <see cref="Double"/>.</summary>
    public string DoubleRsa { get; }
    /// <summary>An RSA key no server has.</summary>
    public string StrangerRsa { get; }
    /// <summary>A key that signs nothing, listed as a @cert-authority.</summary>
    public string Ca { get; }

    public string File(string name, string text)
    {
        var path = _dir[name];
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private string Key(string name, string type)
    {
        var r = Tool.Run("ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f", _dir[name]);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.All);
        return string.Join(' ', System.IO.File.ReadAllText(_dir[name + ".pub"]).Split(' ').Take(2));
    }

    public void Dispose()
    {
        Single.Dispose();
        Double.Dispose();
        _dir.Dispose();
    }
}

/// <summary>
/// The known_hosts verifier SSH.NET connections use (<see cref="KnownHosts"/>) against the real ssh on the same files:
/// for every case, `ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=FILE -o BatchMode=yes` connects to a real
/// sshd, and <see cref="SshConnection.Open"/> connects to the same sshd with the same file. Both must come to the same
/// verdict (and the verdict the case expects), so the rsync that still runs ssh and the SSH.NET connection can never
/// disagree about a peer.
/// </summary>
public class KnownHostsTests : IClassFixture<KnownHostsServers>
{
    private readonly KnownHostsServers _s;

    public KnownHostsTests(KnownHostsServers servers) => _s = servers;

    public static TheoryData<string> Cases => new()
    {
        "exact", "hashed", "hashed-wrong", "plain-host-for-port", "plain-host-wrong-key", "port-wrong-plain-right",
        "revoked", "revoked-only", "revoked-other-host", "revoked-other-key", "revoked-marker-uppercase", "ca-only",
        "wrong-key", "several-keys", "negated", "negated-other", "wildcard", "empty", "type-field-mismatch",
        "comments-tabs", "rsa-only-double", "rsa-wrong-double", "ed25519-only-double", "rsa-known-ed25519-revoked-double",
        "rsa-revoked-ed25519-known-double", "rsa-only-single",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_verifier_and_ssh_come_to_the_same_verdict(string name)
    {
        var (server, text, expected) = Case(name);
        var file = _s.File(name + ".known_hosts", text);
        if (name.StartsWith("hashed", StringComparison.Ordinal))
        {
            // ssh-keygen -H writes the hashed form ssh itself writes (HashKnownHosts): independent of our hashing.
            var hash = Tool.Run("ssh-keygen", "-H", "-f", file);
            Assert.True(hash.ExitCode == 0, hash.All);
            Assert.StartsWith("|1|", System.IO.File.ReadAllText(file));
        }

        var ssh = SshVerdict(server, file);
        var endpoint = new SshEndpoint("127.0.0.1", server.Port, "root", server.ClientKey, file, new[] { "ssh" },
            TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        using var connection = SshConnection.Open(endpoint, CancellationToken.None, out var failure, out var verdict);
        var ours = connection != null ? HostKeyVerdict.Accepted : failure!.Verdict;
        Assert.True(connection != null || failure!.Kind == RemoteShell.Failure.HostKey, failure?.Detail);

        Assert.True(expected == ssh.Verdict, $"{name}: ssh said {ssh.Verdict}, the case expects {expected}\n{text}\n{ssh.Error}");
        Assert.True(ssh.Verdict == ours, $"{name}: ssh said {ssh.Verdict}, SSH.NET with KnownHosts said {ours} ({failure?.Detail})\n{text}");
        Assert.Equal(ours, verdict);
    }

    [Fact]
    public void Hashed_names_patterns_and_the_port_fallback_are_read_as_ssh_reads_them()
    {
        var key = Convert.FromBase64String(_s.Single.PublicKey("host").Split(' ')[1]);
        var line = _s.Single.PublicKey("host");
        // |1|salt|hash of "[127.0.0.1]:2222" with a fixed salt, computed by hand (HMAC-SHA1, as ssh-keygen -H does).
        var salt = new byte[20];
        var hash = System.Security.Cryptography.HMACSHA1.HashData(salt, "[127.0.0.1]:2222"u8.ToArray());
        var known = KnownHosts.FromText($"""
            # a comment

            |1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)} {line}
            web.EXAMPLE.org,!bad.example.org {line}
            *.example.org,!bad.example.org {line}
            """);
        Assert.Equal(HostKeyVerdict.Accepted, known.Check("127.0.0.1", 2222, key));
        Assert.Equal(HostKeyVerdict.UnknownHost, known.Check("127.0.0.1", 2223, key));
        Assert.Equal(HostKeyVerdict.Accepted, known.Check("WEB.example.org", 22, key));
        Assert.Equal(HostKeyVerdict.Accepted, known.Check("web.example.org", 2200, key)); // falls back to the name without port
        Assert.Equal(HostKeyVerdict.UnknownHost, known.Check("bad.example.org", 22, key));
        Assert.Equal(HostKeyVerdict.Accepted, known.Check("a.example.org", 22, key));
        Assert.Equal(new[] { "ssh-ed25519" }, known.KnownKeyTypes("a.example.org", 22));
        Assert.Equal(new[] { "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519" },
            SshConnection.HostKeyAlgorithmsFor(KnownHosts.FromText("h " + _s.DoubleRsa), "h", 22).Where(a => a is "rsa-sha2-512" or "rsa-sha2-256" or "ssh-ed25519"));
    }

    private (SshServer Server, string Text, HostKeyVerdict Expected) Case(string name)
    {
        var single = _s.Single;
        var port = $"[127.0.0.1]:{single.Port}";
        var h = single.PublicKey("host");
        var other = single.PublicKey("other-host");
        var d = _s.Double;
        var dport = $"[127.0.0.1]:{d.Port}";
        var dh = d.PublicKey("host");
        return name switch
        {
            "exact" => (single, $"{port} {h}\n", HostKeyVerdict.Accepted),
            "hashed" => (single, $"{port} {h}\n", HostKeyVerdict.Accepted),
            "hashed-wrong" => (single, $"{port} {other}\n", HostKeyVerdict.Changed),
            "plain-host-for-port" => (single, $"127.0.0.1 {h}\n", HostKeyVerdict.Accepted),
            "plain-host-wrong-key" => (single, $"127.0.0.1 {other}\n", HostKeyVerdict.UnknownHost),
            "port-wrong-plain-right" => (single, $"{port} {other}\n127.0.0.1 {h}\n", HostKeyVerdict.Changed),
            "revoked" => (single, $"@revoked * {h}\n{port} {h}\n", HostKeyVerdict.Revoked),
            "revoked-only" => (single, $"@revoked {port} {h}\n", HostKeyVerdict.Revoked),
            "revoked-other-host" => (single, $"@revoked 10.0.0.1 {h}\n{port} {h}\n", HostKeyVerdict.Accepted),
            "revoked-other-key" => (single, $"@revoked * {other}\n{port} {h}\n", HostKeyVerdict.Accepted),
            "revoked-marker-uppercase" => (single, $"@REVOKED * {h}\n{port} {h}\n", HostKeyVerdict.Accepted),
            "ca-only" => (single, $"@cert-authority {port} {_s.Ca}\n", HostKeyVerdict.UnknownHost),
            "wrong-key" => (single, $"{port} {other}\n", HostKeyVerdict.Changed),
            "several-keys" => (single, $"{port} {other}\n{port} {_s.StrangerRsa}\n{port} {h}\n", HostKeyVerdict.Accepted),
            "negated" => (single, $"{port},![127.0.0.*]:* {h}\n", HostKeyVerdict.UnknownHost),
            "negated-other" => (single, $"{port},!10.0.0.1 {h}\n", HostKeyVerdict.Accepted),
            "wildcard" => (single, $"[127.0.0.?]:{single.Port.ToString()[..2]}* {h}\n", HostKeyVerdict.Accepted),
            "empty" => (single, "", HostKeyVerdict.UnknownHost),
            "type-field-mismatch" => (single, $"{port} ssh-rsa {h.Split(' ')[1]}\n", HostKeyVerdict.UnknownHost),
            "comments-tabs" => (single, $"# peers\n\n\t{port}\t{h} a comment\n", HostKeyVerdict.Accepted),
            // The server offers ed25519 and RSA: ssh (and SSH.NET with the same order) asks for the type known_hosts lists.
            "rsa-only-double" => (d, $"{dport} {_s.DoubleRsa}\n", HostKeyVerdict.Accepted),
            "rsa-wrong-double" => (d, $"{dport} {_s.StrangerRsa}\n", HostKeyVerdict.Changed),
            "ed25519-only-double" => (d, $"{dport} {dh}\n", HostKeyVerdict.Accepted),
            // @revoked lines do not steer the order: the RSA key is asked for, and it is not revoked.
            "rsa-known-ed25519-revoked-double" => (d, $"@revoked * {dh}\n{dport} {_s.DoubleRsa}\n", HostKeyVerdict.Accepted),
            "rsa-revoked-ed25519-known-double" => (d, $"@revoked * {_s.DoubleRsa}\n{dport} {dh}\n", HostKeyVerdict.Accepted),
            // The server has no RSA key: the RSA line is another key for the host.
            "rsa-only-single" => (single, $"{port} {_s.StrangerRsa}\n", HostKeyVerdict.Changed),
            _ => throw new ArgumentException(name),
        };
    }

    private static (HostKeyVerdict? Verdict, string Error) SshVerdict(SshServer server, string file)
    {
        var r = Tool.Run("ssh", "-p", server.Port.ToString(), "-i", server.ClientKey, "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + file, "-o", "BatchMode=yes",
            "root@127.0.0.1", "true");
        if (r.ExitCode == 0) return (HostKeyVerdict.Accepted, r.Error);
        if (r.Error.Contains("is marked as revoked")) return (HostKeyVerdict.Revoked, r.Error);
        if (r.Error.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED")) return (HostKeyVerdict.Changed, r.Error);
        if (r.Error.Contains("host key is known for")) return (HostKeyVerdict.UnknownHost, r.Error);
        return (null, r.Error);
    }
}
