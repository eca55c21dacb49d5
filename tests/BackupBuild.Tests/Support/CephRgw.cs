using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A real single-node Ceph cluster with the RADOS Gateway (Debian's ceph-mon, ceph-osd, radosgw, ceph-common)
/// on 127.0.0.1, everything — config, keyrings, data, logs, run files, admin sockets — under its own temporary
/// folder and named with -c. One monitor, no mgr (not needed for RADOS or RGW), one memstore OSD, pools of
/// size 1, radosgw with the beast frontend on a free port, and an S3 user. Shared by the tests of the
/// <see cref="CephCollection"/> (start-up costs a few seconds); each test makes its own buckets.
/// A cluster that cannot start fails the tests that use it: it is never skipped.
/// </summary>
public sealed class CephRgw : IDisposable
{
    public const string AccessKey = "BKPTESTACCESSKEY";
    public const string SecretKey = "bkp-test-secret-key-for-the-local-rgw";

    private readonly List<(string Name, Process Process)> _daemons = new();
    private Process? _gateway;
    private int _buckets;

    public CephRgw()
    {
        Tier.RequireFull("CephRgw");
        foreach (var p in new[] { "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool", "rados" })
            Tool.Require(p);
        Dir = Directory.CreateTempSubdirectory("bkp-ceph-").FullName;
        MonPort = FreePort();
        Port = FreePort();
        try
        {
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Dir { get; }
    public int MonPort { get; }
    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public string Conf => Path.Combine(Dir, "ceph.conf");

    /// <summary>The environment a child `dotnet msbuild` needs to reach the gateway through the SDK's credential chain.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Credentials => new Dictionary<string, string?>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey, ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_PROFILE"] = null, ["AWS_REGION"] = null, ["AWS_DEFAULT_REGION"] = null,
    };

    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 2,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    /// <summary>A new bucket named after <paramref name="stem"/> (unique in this cluster), optionally with Object Lock (and so versioning).</summary>
    public string Bucket(string stem, bool objectLock = false, bool versioning = false)
    {
        var name = $"{stem}-{Interlocked.Increment(ref _buckets)}";
        using var c = Client();
        c.PutBucketAsync(new PutBucketRequest { BucketName = name, ObjectLockEnabledForBucket = objectLock }).GetAwaiter().GetResult();
        if (versioning && !objectLock)
            c.PutBucketVersioningAsync(new PutBucketVersioningRequest
            {
                BucketName = name, VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
            }).GetAwaiter().GetResult();
        return name;
    }

    /// <summary>Runs a ceph command-line tool against this cluster.</summary>
    public Tool.Result Admin(string program, params string[] args)
    {
        var r = Tool.RunWith(Dir, new Dictionary<string, string?> { ["CEPH_CONF"] = Conf }, TimeSpan.FromMinutes(2), program,
            new[] { "-c", Conf }.Concat(args).ToArray());
        return r;
    }

    private string Must(string program, params string[] args)
    {
        var r = Admin(program, args);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException($"{program} {string.Join(' ', args)} failed ({r.ExitCode}): {r.All}\n{Logs()}");
        return r.Output;
    }

    /// <summary>Overwrites the stored bytes of a (single-part, small) object in RADOS, keeping RGW's metadata: damage RGW does not notice.</summary>
    public void Damage(string bucket, string key, Func<byte[], byte[]> change)
    {
        var pool = "default.rgw.buckets.data";
        var names = Must("rados", "-p", pool, "ls").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var marker = Must("radosgw-admin", "bucket", "stats", "--bucket", bucket);
        var id = System.Text.Json.JsonDocument.Parse(marker).RootElement.GetProperty("marker").GetString();
        var name = names.Single(n => n == $"{id}_{key}");
        var file = Path.Combine(Dir, "damage.bin");
        Must("rados", "-p", pool, "get", name, file);
        File.WriteAllBytes(file, change(File.ReadAllBytes(file)));
        Must("rados", "-p", pool, "put", name, file);
        File.Delete(file);
    }

    private void Start()
    {
        var fsid = Guid.NewGuid().ToString();
        foreach (var d in new[] { "mon", "osd/0", "run", "log", "rgw", "crash", "tmp" }) Directory.CreateDirectory(Path.Combine(Dir, d));
        // Every path a daemon or tool writes is pointed into the folder; the monitor's free-space thresholds are
        // lowered so a nearly full disk does not stop it; RGW's garbage collection runs soon, so that memstore
        // does not keep deleted objects in memory for hours.
        File.WriteAllText(Conf, $"""
            [global]
            fsid = {fsid}
            mon host = v2:127.0.0.1:{MonPort}
            public network = 127.0.0.1/32
            ms bind msgr1 = false
            keyring = {Dir}/keyring
            admin socket = {Dir}/run/$name.asok
            pid file = {Dir}/run/$name.pid
            run dir = {Dir}/run
            crash dir = {Dir}/crash
            tmp dir = {Dir}/tmp
            log file = {Dir}/log/$name.log
            mon cluster log file = {Dir}/log/cluster.log
            log to stderr = false
            err to stderr = true
            osd pool default size = 1
            osd pool default min size = 1
            osd pool default pg num = 8
            osd pool default pgp num = 8
            osd crush chooseleaf type = 0
            mon allow pool size one = true
            mon warn on pool no redundancy = false
            mon data avail warn = 1
            mon data avail crit = 0
            paxos propose interval = 0.05
            [mon]
            mon data = {Dir}/mon/$name
            [osd]
            osd data = {Dir}/osd/$id
            osd objectstore = memstore
            memstore device bytes = 4294967296
            [client.rgw.a]
            rgw data = {Dir}/rgw
            rgw frontends = beast endpoint=127.0.0.1:{Port}
            rgw gc obj min wait = 30
            rgw gc processor period = 30

            """);
        var keyring = Path.Combine(Dir, "keyring");
        Must("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *");
        Must("ceph-authtool", keyring, "--gen-key", "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *");
        Must("ceph-authtool", keyring, "--gen-key", "-n", "osd.0", "--cap", "mon", "allow profile osd", "--cap", "osd", "allow *");
        Must("ceph-authtool", keyring, "--gen-key", "-n", "client.rgw.a", "--cap", "mon", "allow rw", "--cap", "osd", "allow rwx");
        var monmap = Path.Combine(Dir, "monmap");
        Must("monmaptool", "--create", "--fsid", fsid, "--addv", "a", $"[v2:127.0.0.1:{MonPort}]", monmap);
        Must("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring);
        _daemons.Add(("mon.a", Daemon("ceph-mon", "-i", "a", "-f")));
        var uuid = Guid.NewGuid().ToString();
        Must("ceph", "--connect-timeout", "60", "osd", "new", uuid, "0");
        Must("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", uuid);
        _daemons.Add(("osd.0", Daemon("ceph-osd", "-i", "0", "-f")));
        StartGateway();
        Must("radosgw-admin", "user", "create", "--uid", "backupbuild-tests", "--display-name", "BackupBuild tests",
            "--access-key", AccessKey, "--secret-key", SecretKey);
        // Ready when a request succeeds with the user's keys.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                using var c = Client();
                c.ListBucketsAsync().GetAwaiter().GetResult();
                return;
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or SocketException)
            {
                if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"the RADOS gateway on {Endpoint} never answered: {e.Message}\n{Logs()}");
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>Starts radosgw (again) and waits for its port.</summary>
    public void StartGateway()
    {
        _gateway = Daemon("radosgw", "-n", "client.rgw.a", "-f");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) { Thread.Sleep(100); }
            if (_gateway.HasExited) break;
        }
        throw new Xunit.Sdk.XunitException($"radosgw did not listen on {Port}.\n{Logs()}");
    }

    /// <summary>Whether radosgw is running (false after <see cref="KillGateway"/> until <see cref="StartGateway"/>).</summary>
    public bool GatewayRunning => _gateway is { HasExited: false };

    /// <summary>Kills radosgw at once (SIGKILL): a gateway that dies in the middle of requests.</summary>
    public void KillGateway()
    {
        if (_gateway == null) return;
        if (!_gateway.HasExited) _gateway.Kill();
        _gateway.WaitForExit();
        _gateway.Dispose();
        _gateway = null;
    }

    private Process Daemon(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        info.Environment["CEPH_CONF"] = Conf;
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Conf);
        foreach (var a in args) info.ArgumentList.Add(a);
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private string Logs()
    {
        var logs = Path.Combine(Dir, "log");
        if (!Directory.Exists(logs)) return "";
        return string.Join("\n", Directory.GetFiles(logs).Select(f =>
        {
            var lines = File.ReadAllLines(f);
            return $"--- {Path.GetFileName(f)}\n" + string.Join("\n", lines.Skip(Math.Max(0, lines.Length - 15)));
        }));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>SIGTERM, then SIGKILL if the daemon has not stopped in time.</summary>
    private static void Stop(Process p)
    {
        if (!p.HasExited)
        {
            kill(p.Id, 15);
            if (!p.WaitForExit(TimeSpan.FromSeconds(20))) p.Kill();
        }
        p.WaitForExit();
        p.Dispose();
    }

    public void Dispose()
    {
        // The gateway before the OSD (a gateway whose OSD is gone hangs), the OSD before the monitor.
        if (_gateway != null) Stop(_gateway);
        _gateway = null;
        for (var i = _daemons.Count - 1; i >= 0; i--) Stop(_daemons[i].Process);
        _daemons.Clear();
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>The tests that share one Ceph cluster (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class CephCollection : ICollectionFixture<CephRgw>
{
    public const string Name = "Ceph RGW";
}
