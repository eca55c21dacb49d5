using System.Diagnostics;
using System.Text;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Runs a program whose output comes from an untrusted peer (ssh, rsync, scp) with an argument list, a
/// time limit and a limit on what it may print: standard output is read as bytes and the program is
/// killed the moment it passes <c>outputLimit</c> (so a peer that streams gigabytes costs at most the
/// limit in memory); of standard error only the last <see cref="ErrorTail"/> bytes are kept.
/// </summary>
public static class BoundedRun
{
    /// <summary>How much of standard error is kept (its end, where ssh and rsync put the reason).</summary>
    public const int ErrorTail = 64 * 1024;

    public sealed record Result(int ExitCode, byte[] Output, string Error, bool TimedOut, bool Overflowed)
    {
        public bool Succeeded => ExitCode == 0 && !TimedOut && !Overflowed;

        /// <summary>The same outcome for <see cref="RemoteShell.Classify"/> (which looks at the exit code and error text).</summary>
        public RemoteShell.Result Shell => new(ExitCode, "", Error, TimedOut);
    }

    /// <summary>Runs a command on the peer as <see cref="RemoteShell.Execute"/> does: ssh [options] target -- remoteCommand.</summary>
    public static Result Execute(SshEndpoint peer, string remoteCommand, TimeSpan timeout, long outputLimit, CancellationToken cancel)
    {
        var args = new List<string>(peer.ShellCommand.Skip(1));
        args.AddRange(peer.Options);
        args.Add(peer.Target);
        args.Add("--");
        args.Add(remoteCommand);
        return Run(peer.ShellCommand[0], args, timeout, outputLimit, cancel);
    }

    public static Result Run(string program, IEnumerable<string> args, TimeSpan timeout, long outputLimit, CancellationToken cancel)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["LC_ALL"] = "C";
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new Result(127, Array.Empty<byte>(), $"{program}: {e.Message}", false, false);
        }
        try { process.StandardInput.Close(); } catch (IOException) { }

        var overflowed = false;
        var output = new MemoryStream();
        var readOutput = Task.Run(() =>
        {
            var buffer = new byte[1 << 16];
            var stream = process.StandardOutput.BaseStream;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > outputLimit)
                {
                    // Enforced while reading: the rest is never read, and the peer's side is cut off.
                    Volatile.Write(ref overflowed, true);
                    Kill(process);
                    return;
                }
                output.Write(buffer, 0, read);
            }
        });
        var error = new TailBuffer(ErrorTail);
        var readError = Task.Run(() =>
        {
            var buffer = new byte[1 << 14];
            var stream = process.StandardError.BaseStream;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) error.Add(buffer.AsSpan(0, read));
        });

        var timedOut = false;
        using (cancel.Register(() => Kill(process)))
        {
            if (!process.WaitForExit(timeout))
            {
                timedOut = true;
                Kill(process);
            }
            process.WaitForExit();
            // A child that kept the pipes open is not waited for forever.
            if (!Task.WaitAll(new[] { readOutput, readError }, TimeSpan.FromSeconds(30))) Kill(process);
        }
        cancel.ThrowIfCancellationRequested();
        return new Result(process.ExitCode, Volatile.Read(ref overflowed) ? Array.Empty<byte>() : output.ToArray(),
            error.Text, timedOut, Volatile.Read(ref overflowed));
    }

    private static void Kill(Process p)
    {
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>The last <c>limit</c> bytes of a stream, decoded as text (invalid bytes replaced) at the end.</summary>
    private sealed class TailBuffer
    {
        private readonly int _limit;
        private byte[] _bytes = Array.Empty<byte>();

        public TailBuffer(int limit) => _limit = limit;

        public void Add(ReadOnlySpan<byte> chunk)
        {
            lock (this)
            {
                var total = _bytes.Length + chunk.Length;
                var keep = Math.Min(total, _limit);
                var next = new byte[keep];
                var fromChunk = Math.Min(chunk.Length, keep);
                var fromOld = keep - fromChunk;
                _bytes.AsSpan(_bytes.Length - fromOld).CopyTo(next);
                chunk[(chunk.Length - fromChunk)..].CopyTo(next.AsSpan(fromOld));
                _bytes = next;
            }
        }

        public string Text
        {
            get { lock (this) return Encoding.UTF8.GetString(_bytes); }
        }
    }
}
