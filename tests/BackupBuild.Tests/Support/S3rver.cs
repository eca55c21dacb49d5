using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A real S3-compatible server (s3rver from npm, installed by test.sh into tests/node) on 127.0.0.1,
/// with its own port and data folder, for one test. Its fixed credentials are S3RVER/S3RVER.
/// </summary>
public sealed class S3rver : IDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private Process? _process;
    private readonly string[] _buckets;

    public S3rver(string dataDir, params string[] buckets)
    {
        DataDir = dataDir;
        _buckets = buckets;
        Port = FreePort();
        Start();
    }

    public string DataDir { get; }
    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public static string Program
    {
        get
        {
            var path = Path.Combine(Repo.Root, "tests/node/node_modules/.bin/s3rver");
            if (!File.Exists(path)) throw new Xunit.Sdk.XunitException("s3rver is not installed in tests/node; ./test.sh installs it.");
            Tool.Require("node");
            return path;
        }
    }

    /// <summary>The environment a child `dotnet msbuild` needs to reach this server through the SDK's credential chain.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Credentials => new Dictionary<string, string?>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey, ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_PROFILE"] = null, ["AWS_REGION"] = null, ["AWS_DEFAULT_REGION"] = null,
    };

    /// <summary>The stored bytes of an object (s3rver keeps each object as key._S3rver_object).</summary>
    public string ObjectPath(string bucket, string key) => Path.Combine(DataDir, bucket, key + "._S3rver_object");

    public void Start()
    {
        Directory.CreateDirectory(DataDir);
        var info = new ProcessStartInfo(Program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-d", DataDir, "-a", "127.0.0.1", "-p", Port.ToString(), "-s" }) info.ArgumentList.Add(a);
        foreach (var b in _buckets) { info.ArgumentList.Add("--configure-bucket"); info.ArgumentList.Add(b); }
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) { Thread.Sleep(100); }
            if (_process.HasExited) break;
        }
        throw new Xunit.Sdk.XunitException($"s3rver did not start on port {Port}.");
    }

    public void Stop()
    {
        if (_process == null) return;
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
