using System.Net.Sockets;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Why a connection or a command over it failed, named from the protocol (not from a program's messages).</summary>
public sealed class SshFailure
{
    public SshFailure(RemoteShell.Failure kind, string detail, HostKeyVerdict? verdict = null)
    {
        Kind = kind;
        Detail = detail;
        Verdict = verdict;
    }

    public RemoteShell.Failure Kind { get; }
    /// <summary>One sentence for the log (no secrets: host, port, key type and fingerprint at most).</summary>
    public string Detail { get; }
    public HostKeyVerdict? Verdict { get; }
}

/// <summary>
/// One authenticated SSH.NET connection to a peer, carrying every command of a run (Stage's listing and staged mark,
/// the managed runs) instead of one ssh process and connection per command. The host key is checked by
/// <see cref="KnownHosts"/> against the same known_hosts files ssh reads, with the host-key algorithms ordered as ssh
/// orders them; the client key is the SshIdentityFile (read by SSH.NET, never passed anywhere); connect timeout and
/// keep-alive follow SshConnectTimeout and SshIdleTimeout. Commands are the same strings ssh would send, so the
/// peer's forced-command gate sees exactly what it sees from ssh.
/// </summary>
public sealed class SshConnection : IDisposable
{
    /// <summary>
    /// ssh's default host-key algorithms (OpenSSH 9) that SSH.NET implements, in ssh's order; ssh-rsa (SHA-1) and
    /// ssh-dss are not in ssh's default list and are not offered either. Certificates are not offered (see KnownHosts).
    /// </summary>
    private static readonly string[] HostKeyOrder =
        { "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256" };

    private readonly SshClient _client;
    private readonly SshEndpoint _peer;

    private SshConnection(SshClient client, SshEndpoint peer)
    {
        _client = client;
        _peer = peer;
    }

    /// <summary>The host-key algorithms to offer for a peer: those of the key types known_hosts lists for it first, as ssh does.</summary>
    public static IReadOnlyList<string> HostKeyAlgorithmsFor(KnownHosts known, string host, int port)
    {
        var types = known.KnownKeyTypes(host, port);
        static string TypeOf(string algorithm) => algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal) ? "ssh-rsa" : algorithm;
        return HostKeyOrder.Where(a => types.Contains(TypeOf(a))).Concat(HostKeyOrder.Where(a => !types.Contains(TypeOf(a)))).ToList();
    }

    /// <summary>
    /// Connects and authenticates, or returns why not. <paramref name="verdict"/> is what known_hosts said of the key the
    /// peer presented (null when no key was presented: the peer was not reached).
    /// </summary>
    public static SshConnection? Open(SshEndpoint peer, CancellationToken cancel, out SshFailure? failure, out HostKeyVerdict? verdict)
    {
        failure = null;
        verdict = null;
        HostKeyVerdict? seen = null;
        string seenType = "";
        var known = KnownHosts.Load(KnownHosts.FilesFor(peer.KnownHostsFile));
        SshClient? client = null;
        try
        {
            var user = string.IsNullOrEmpty(peer.User) ? Environment.UserName : peer.User;
            PrivateKeyFile[] keys;
            try { keys = KeyFiles(peer.IdentityFile).Select(f => new PrivateKeyFile(f)).ToArray(); }
            catch (Exception e) when (e is not OperationCanceledException) // unreadable, malformed, passphrase-protected…
            {
                // As for ssh, a key that cannot be used leaves the peer refusing the connection (no secret in the message).
                failure = new SshFailure(RemoteShell.Failure.AuthenticationRefused,
                    $"the identity file {peer.IdentityFile} cannot be used ({e.GetType().Name}: {e.Message}).");
                return null;
            }
            var info = new ConnectionInfo(peer.Host, peer.Port, user, new PrivateKeyAuthenticationMethod(user, keys))
            {
                Timeout = peer.ConnectTimeout,
            };
            var algorithms = info.HostKeyAlgorithms.ToList();
            info.HostKeyAlgorithms.Clear();
            foreach (var name in HostKeyAlgorithmsFor(known, peer.Host, peer.Port))
                if (algorithms.FirstOrDefault(a => a.Key == name) is { Key: not null } a) info.HostKeyAlgorithms.Add(a.Key, a.Value);
            if (!string.IsNullOrEmpty(peer.Ciphers))
            {
                // ssh's Ciphers syntax: "^a,b" a and b first, "+a" appended (SSH.NET's own list has what it has),
                // "-a" removed, "a,b" exactly these; names SSH.NET does not implement are left out.
                var spec = peer.Ciphers.Trim();
                var mode = spec[0] is '^' or '+' or '-' ? spec[0] : '=';
                var wanted = spec.TrimStart('^', '+', '-').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var ciphers = info.Encryptions.ToList();
                var order = mode switch
                {
                    '^' => ciphers.Where(c => wanted.Contains(c.Key)).OrderBy(c => Array.IndexOf(wanted, c.Key)).Concat(ciphers.Where(c => !wanted.Contains(c.Key))),
                    '+' => ciphers,
                    '-' => ciphers.Where(c => !wanted.Contains(c.Key)),
                    _ => wanted.SelectMany(w => ciphers.Where(c => c.Key == w)),
                };
                var chosen = order.ToList();
                info.Encryptions.Clear();
                foreach (var c in chosen) info.Encryptions.Add(c.Key, c.Value);
                if (info.Encryptions.Count == 0)
                {
                    failure = new SshFailure(RemoteShell.Failure.Unsupported,
                        $"SshCiphers ({peer.Ciphers}) leaves none of the ciphers SSH.NET implements ({string.Join(",", ciphers.Select(c => c.Key))}).");
                    return null;
                }
            }
            client = new SshClient(info) { KeepAliveInterval = TimeSpan.FromSeconds(Math.Max(1, (int)peer.IdleTimeout.TotalSeconds / 3)) };
            client.HostKeyReceived += (_, e) =>
            {
                seenType = KnownHosts.BlobType(e.HostKey) ?? e.HostKeyName;
                seen = known.Check(peer.Host, peer.Port, e.HostKey);
                e.CanTrust = seen == HostKeyVerdict.Accepted;
            };
            // The whole handshake (TCP, banner, key exchange, login) is bounded by the connect timeout, as ssh bounds
            // connect and banner: a peer that accepts the connection and then never answers (hung, stopped) costs this
            // timeout and nothing more. Disposing the client is what unblocks SSH.NET's waits that take no token.
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            bound.CancelAfter(peer.ConnectTimeout);
            try
            {
                using (bound.Token.Register(() => client.Dispose()))
                    client.ConnectAsync(bound.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (bound.IsCancellationRequested && !cancel.IsCancellationRequested &&
                                      e is OperationCanceledException or SshException or ObjectDisposedException or SocketException or IOException or InvalidOperationException)
            {
                verdict = seen;
                if (seen is { } v && v != HostKeyVerdict.Accepted) { failure = Classify(e, peer, seen, seenType); return null; }
                failure = new SshFailure(RemoteShell.Failure.Unreachable,
                    $"connect to host {peer.Host} port {peer.Port}: no answer within {(int)peer.ConnectTimeout.TotalSeconds} s (SshConnectTimeout).");
                return null;
            }
            verdict = seen;
            var connection = new SshConnection(client, peer);
            client = null;
            return connection;
        }
        catch (OperationCanceledException) { cancel.ThrowIfCancellationRequested(); throw; }
        catch (Exception e) when (cancel.IsCancellationRequested && e is SshException or ObjectDisposedException or SocketException)
        {
            throw new OperationCanceledException(cancel);
        }
        catch (Exception e) when (e is SshException or SocketException or IOException or TimeoutException or InvalidOperationException)
        {
            verdict = seen;
            failure = Classify(e, peer, seen, seenType);
            return null;
        }
        finally
        {
            client?.Dispose();
        }
    }

    /// <summary>ssh's default identities when SshIdentityFile is not set, as far as they exist.</summary>
    private static IEnumerable<string> KeyFiles(string? identity)
    {
        if (!string.IsNullOrEmpty(identity)) return new[] { identity };
        var home = Environment.GetEnvironmentVariable("HOME") ?? "";
        return new[] { "id_rsa", "id_ecdsa", "id_ed25519" }.Select(n => Path.Combine(home, ".ssh", n)).Where(File.Exists);
    }

    private static SshFailure Classify(Exception e, SshEndpoint peer, HostKeyVerdict? seen, string keyType)
    {
        if (seen is { } v && v != HostKeyVerdict.Accepted)
        {
            var what = v switch
            {
                HostKeyVerdict.UnknownHost => $"no {keyType} host key is known for {KnownHosts.LookupName(peer.Host, peer.Port)} (StrictHostKeyChecking).",
                HostKeyVerdict.Revoked => $"the {keyType} host key it presented is marked @revoked for {KnownHosts.LookupName(peer.Host, peer.Port)}.",
                _ => $"the {keyType} host key it presented differs from the one known for {KnownHosts.LookupName(peer.Host, peer.Port)} (REMOTE HOST IDENTIFICATION HAS CHANGED).",
            };
            return new SshFailure(RemoteShell.Failure.HostKey, what, v);
        }
        return e switch
        {
            SshAuthenticationException => new SshFailure(RemoteShell.Failure.AuthenticationRefused, "Permission denied (publickey): " + e.Message),
            SocketException s => new SshFailure(RemoteShell.Failure.Unreachable, $"connect to host {peer.Host} port {peer.Port}: {SocketText(s)}."),
            SshOperationTimeoutException => new SshFailure(RemoteShell.Failure.Unreachable, $"connect to host {peer.Host} port {peer.Port}: timed out after {(int)peer.ConnectTimeout.TotalSeconds} s (SshConnectTimeout)."),
            SshConnectionException c when c.DisconnectReason == Renci.SshNet.Messages.Transport.DisconnectReason.HostKeyNotVerifiable =>
                new SshFailure(RemoteShell.Failure.HostKey, "Host key verification failed."),
            SshConnectionException or IOException => new SshFailure(RemoteShell.Failure.Unreachable, $"Connection closed by {peer.Host} port {peer.Port}: {e.Message}"),
            _ => new SshFailure(RemoteShell.Failure.Unreachable, e.Message),
        };
    }

    private static string SocketText(SocketException s) => s.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.TimedOut => "Connection timed out",
        SocketError.HostUnreachable => "No route to host",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "Could not resolve hostname",
        _ => s.Message,
    };

    /// <summary>
    /// Runs one command (the same string ssh would send) on the open connection. Its output comes from an untrusted peer: it
    /// is read as it arrives and the command is abandoned once it passes <paramref name="outputLimit"/> bytes
    /// (<see cref="ProgramResult.Overflowed"/>). A dropped connection is a failure of kind Dropped; a timeout or Ctrl+C
    /// closes the channel.
    /// </summary>
    public ProgramResult Execute(string command, TimeSpan timeout, CancellationToken cancel, long outputLimit, out SshFailure? failure)
    {
        failure = null;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timer.CancelAfter(timeout);
        SshCommand? cmd = null;
        try
        {
            cmd = _client.CreateCommand(command);
            cmd.CommandTimeout = System.Threading.Timeout.InfiniteTimeSpan;
            var output = new BoundedBuffer(outputLimit);
            var error = new BoundedBuffer(1 << 20);
            var run = cmd.ExecuteAsync(timer.Token);
            // Blocking reads, on threads of their own (not the pool's, which parallel peers may be holding).
            var readOut = Task.Factory.StartNew(() => output.ReadAll(cmd.OutputStream, timer), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var readErr = Task.Factory.StartNew(() => error.ReadAll(cmd.ExtendedOutputStream, timer), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            try { run.GetAwaiter().GetResult(); }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { /* timed out or overflowed: judged below */ }
            Task.WaitAll(new[] { readOut, readErr }, TimeSpan.FromSeconds(30));
            cancel.ThrowIfCancellationRequested();
            var result = new ProgramResult(cmd.ExitStatus ?? -1, output.Bytes, error.Text,
                TimedOut: timer.IsCancellationRequested && !output.Overflowed, Overflowed: output.Overflowed);
            if (result.TimedOut) failure = new SshFailure(RemoteShell.Failure.Dropped, $"timed out after {Units.Seconds(timeout)}.");
            else if (cmd.ExitStatus == null && !output.Overflowed)
                failure = new SshFailure(RemoteShell.Failure.Dropped, $"the connection to {_peer.Host} port {_peer.Port} ended before the command did.");
            return result;
        }
        catch (Exception e) when (e is SshConnectionException or SshException or ObjectDisposedException or IOException or SocketException or InvalidOperationException)
        {
            cancel.ThrowIfCancellationRequested();
            failure = new SshFailure(RemoteShell.Failure.Dropped, $"Connection to {_peer.Host} port {_peer.Port} lost: {e.Message}");
            return new ProgramResult(-1, Array.Empty<byte>(), e.Message, false, false);
        }
        finally
        {
            cmd?.Dispose();
        }
    }

    /// <summary>
    /// Runs one command whose input and output <paramref name="talk"/> drives (Stage's copy: the scp protocol, whose other end
    /// is the untrusted peer). <paramref name="talk"/> gets the stream to the command, the stream from it, and an action to
    /// call whenever data arrived; it returns true when the peer ended the conversation as it should, false to abandon it
    /// (the command is then stopped). No data for <paramref name="idleTimeout"/> (the peer or the network hung) ends the
    /// command with a failure of kind Dropped, as ssh's ServerAlive does; so does <paramref name="timeout"/> in all.
    /// The command's error output is kept up to 1 MiB.
    /// </summary>
    public ProgramResult Converse(string command, TimeSpan idleTimeout, TimeSpan timeout, CancellationToken cancel,
        Func<Stream, Stream, Action, bool> talk, out SshFailure? failure)
    {
        failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stop.CancelAfter(timeout);
        var idle = 0;
        // First silence: the command is stopped (its channel closed, which ends the reads). Should even that not end them
        // (a peer that no longer answers at all), the connection itself is closed a little later.
        using var watchdog = new Timer(_ =>
        {
            if (Interlocked.Increment(ref idle) == 1) { try { stop.Cancel(); } catch (ObjectDisposedException) { } }
            else { try { _client.Disconnect(); } catch (Exception e) when (e is SshException or ObjectDisposedException or IOException or SocketException or InvalidOperationException) { } }
        }, null, idleTimeout, TimeSpan.FromSeconds(10));
        void Alive() { if (Volatile.Read(ref idle) == 0) watchdog.Change(idleTimeout, TimeSpan.FromSeconds(10)); }
        SshCommand? cmd = null;
        try
        {
            cmd = _client.CreateCommand(command);
            cmd.CommandTimeout = System.Threading.Timeout.InfiniteTimeSpan;
            var error = new BoundedBuffer(1 << 20);
            var run = cmd.ExecuteAsync(stop.Token);
            var readErr = Task.Factory.StartNew(() => error.ReadAll(cmd.ExtendedOutputStream, stop), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            bool ended;
            using (var input = cmd.CreateInputStream())
                ended = talk(input, cmd.OutputStream, Alive);
            if (!ended) stop.Cancel();
            try { run.GetAwaiter().GetResult(); }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { /* abandoned, idle or timed out: judged below */ }
            readErr.Wait(TimeSpan.FromSeconds(30));
            watchdog.Change(Timeout.Infinite, Timeout.Infinite);
            cancel.ThrowIfCancellationRequested();
            var silent = Volatile.Read(ref idle) > 0;
            var result = new ProgramResult(cmd.ExitStatus ?? -1, Array.Empty<byte>(), error.Text,
                TimedOut: silent || (ended && stop.IsCancellationRequested), Overflowed: false);
            if (silent) failure = new SshFailure(RemoteShell.Failure.Dropped, $"no data from {_peer.Host} port {_peer.Port} for {Units.Seconds(idleTimeout)} (SshIdleTimeout).");
            else if (result.TimedOut) failure = new SshFailure(RemoteShell.Failure.Dropped, $"timed out after {Units.Seconds(timeout)}.");
            else if (ended && cmd.ExitStatus == null)
                failure = new SshFailure(RemoteShell.Failure.Dropped, $"the connection to {_peer.Host} port {_peer.Port} ended before the command did.");
            return result;
        }
        catch (Exception e) when (e is SshConnectionException or SshException or ObjectDisposedException or IOException or SocketException or InvalidOperationException)
        {
            cancel.ThrowIfCancellationRequested();
            failure = new SshFailure(RemoteShell.Failure.Dropped, Volatile.Read(ref idle) > 0
                ? $"no data from {_peer.Host} port {_peer.Port} for {Units.Seconds(idleTimeout)} (SshIdleTimeout)."
                : $"Connection to {_peer.Host} port {_peer.Port} lost: {e.Message}");
            return new ProgramResult(-1, Array.Empty<byte>(), e.Message, false, false);
        }
        finally
        {
            watchdog.Change(Timeout.Infinite, Timeout.Infinite);
            cmd?.Dispose();
        }
    }

    /// <summary>Whether the connection is still up (it may have been dropped while the copy ran over its own).</summary>
    public bool IsConnected => _client.IsConnected;

    public void Dispose()
    {
        try { _client.Disconnect(); } catch (Exception e) when (e is SshException or ObjectDisposedException or IOException or SocketException or InvalidOperationException) { }
        _client.Dispose();
    }

    /// <summary>A stream read to its end into memory, up to a limit: past it, the rest is not kept and the command is stopped.</summary>
    private sealed class BoundedBuffer
    {
        private readonly long _limit;
        private readonly MemoryStream _data = new();

        public BoundedBuffer(long limit) => _limit = limit;

        public bool Overflowed { get; private set; }
        public byte[] Bytes => _data.ToArray();
        public string Text => System.Text.Encoding.UTF8.GetString(_data.GetBuffer(), 0, (int)_data.Length);

        public void ReadAll(Stream stream, CancellationTokenSource stop)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    if (_data.Length + n > _limit)
                    {
                        Overflowed = true;
                        stop.Cancel();
                        return;
                    }
                    _data.Write(buffer, 0, n);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }
    }
}
