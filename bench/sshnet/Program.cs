// Usage: SshNetPool copy <identity> <known_hosts> <addr> <remote-dir> <dest>   (bench/copy.sh: one peer's files over SFTP)
//        SshNetPool <identity> <known_hosts> <dest> <parallel> <addr>=<name>=<collectdir> ...
// For each peer: connect (host key compared with the known_hosts line for its address), list the collect dir
// over SFTP, check cback.collect, download each file on the same connection, create cback.stage.
using System.Diagnostics;
using Renci.SshNet;

var user = Environment.GetEnvironmentVariable("BENCH_USER") ?? "root";
if (args[0] == "copy")
{
    // One connection, the files of one folder one after the other (SftpClient.DownloadFile), as a RemoteCopy=sftp would.
    var known = File.ReadAllLines(args[2]).Select(l => l.Split(' ')).First(f => f[0] == args[3]);
    var info1 = new ConnectionInfo(args[3], 22, user, new PrivateKeyAuthenticationMethod(user, new PrivateKeyFile(args[1])));
    using var client = new SftpClient(info1);
    client.HostKeyReceived += (_, e) => e.CanTrust = Convert.ToBase64String(e.HostKey) == known[2];
    var watch = Stopwatch.StartNew();
    client.Connect();
    long total = 0;
    foreach (var f in client.ListDirectory(args[4]).Where(f => f.IsRegularFile))
    {
        using var output = File.Create(Path.Combine(args[5], f.Name));
        client.DownloadFile(f.FullName, output);
        total += f.Length;
    }
    Console.WriteLine($"sftp: {total} bytes in {watch.Elapsed.TotalSeconds:F2} s");
    return 0;
}
var identity = args[0]; var knownHosts = File.ReadAllLines(args[1]); var dest = args[2]; var parallel = int.Parse(args[3]);
var peers = args.Skip(4).Select(a => a.Split('=', 3)).ToList();
var key = new PrivateKeyFile(identity);
var failures = 0;
var clock = Stopwatch.StartNew();
await Parallel.ForEachAsync(peers, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (p, ct) =>
{
    var (addr, name, collect) = (p[0], p[1], p[2]);
    var expected = knownHosts.Select(l => l.Split(' ')).First(f => f[0] == addr);
    var info = new ConnectionInfo(addr, 22, user, new PrivateKeyAuthenticationMethod(user, key));
    // One connection per peer: SSH.NET's SshClient and SftpClient each open their own, so everything goes over SFTP:
    // the listing (readiness = cback.collect present), the copy and the staged mark.
    using var sftp = new SftpClient(info);
    sftp.HostKeyReceived += (_, e) => e.CanTrust = Convert.ToBase64String(e.HostKey) == expected[2];
    await sftp.ConnectAsync(ct);
    var files = sftp.ListDirectory(collect).Where(f => f.IsRegularFile).Select(f => f.Name).ToList();
    if (!files.Contains("cback.collect")) { Interlocked.Increment(ref failures); return; }
    var dir = Path.Combine(dest, name); Directory.CreateDirectory(dir);
    foreach (var f in files)
    {
        using var output = File.Create(Path.Combine(dir, f));
        sftp.DownloadFile(collect + "/" + f, output);
    }
    using (sftp.Create(collect + "/cback.stage")) { }
});
Console.WriteLine($"sshnet: {peers.Count} peers in {clock.Elapsed.TotalSeconds:F2} s, {failures} not ready");
return failures == 0 ? 0 : 1;
