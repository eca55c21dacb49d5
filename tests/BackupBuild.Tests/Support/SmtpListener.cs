using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A real SMTP server (aiosmtpd from Debian's python3-aiosmtpd) on 127.0.0.1 with its own port,
/// storing every message it receives in a Maildir in a temporary folder; stopped on Dispose.
/// </summary>
public sealed class SmtpListener : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly TempDir _dir = new();
    private readonly Process _process;

    public SmtpListener()
    {
        Tier.RequireFull("SmtpListener");
        if (!File.Exists(Python) || Tool.Run(Python, "-c", "import aiosmtpd").ExitCode != 0)
            throw new InvalidOperationException("aiosmtpd is not installed (Debian package python3-aiosmtpd); ./test.sh installs it");
        Port = SshServer.FreePort();
        Maildir = _dir["maildir"];
        var info = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "aiosmtpd.handlers.Mailbox", Maildir })
            info.ArgumentList.Add(a);
        _process = Process.Start(info)!;
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) { Thread.Sleep(100); }
        }
        throw new InvalidOperationException("aiosmtpd did not start on port " + Port);
    }

    public int Port { get; }
    public string Maildir { get; }

    /// <summary>Every message received so far, as text (headers and body).</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            var files = new[] { "new", "cur" }.Select(d => Path.Combine(Maildir, d)).Where(Directory.Exists)
                .SelectMany(Directory.EnumerateFiles).OrderBy(File.GetLastWriteTimeUtc).ToList();
            return files.Select(File.ReadAllText).ToList();
        }
    }

    /// <summary>Waits up to a few seconds for a message containing <paramref name="text"/>.</summary>
    public string? WaitFor(string text, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        do
        {
            var m = Messages.FirstOrDefault(x => x.Contains(text, StringComparison.Ordinal));
            if (m != null) return m;
            Thread.Sleep(100);
        } while (DateTime.UtcNow < deadline);
        return null;
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit();
        _dir.Dispose();
    }
}
