using System.Collections.Concurrent;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// The SSH.NET connections of one build: one authenticated connection per peer, opened by the first task that talks to
/// the peer (Stage's listing, or a managed run) and reused by every later task of the same `dotnet msbuild` run (the
/// staged mark, the managed runs after Stage), then closed when the build ends. MSBuild keeps the pool between tasks
/// (<see cref="IBuildEngine4.RegisterTaskObject"/>, lifetime Build) and disposes it at the end of the build; an engine
/// without that service (a test driving one task) gets a pool of the task's own, closed when the task ends.
/// A connection is found by everything that decides whom it reaches and as whom: the peer's name, host, port, user,
/// identity file, known_hosts file, ciphers and timeouts; so one peer's connection never serves another peer, nor the same
/// peer under other settings. A failed open is not kept: the next task tries again, with its own timeout.
/// </summary>
public sealed class SshConnectionPool : IDisposable
{
    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private int _logins;
    private bool _disposed;

    /// <summary>The registration key: the assembly's identity is part of it, so a pool of another build of these tasks is never cast.</summary>
    private static readonly string RegistrationKey = "BackupBuild.SshConnectionPool/" + typeof(SshConnectionPool).Assembly.ManifestModule.ModuleVersionId;
    private static readonly object Registering = new();

    /// <summary>The build's pool (created and registered on first use), or null when the engine keeps no task objects.</summary>
    public static SshConnectionPool? ForBuild(IBuildEngine? engine)
    {
        if (engine is not IBuildEngine4 e4) return null;
        lock (Registering)
        {
            if (e4.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is SshConnectionPool existing && !existing._disposed)
                return existing;
            var pool = new SshConnectionPool();
            e4.RegisterTaskObject(RegistrationKey, pool, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return pool;
        }
    }

    /// <summary>How many connections this pool opened (logins), for the log and the tests.</summary>
    public int Logins => Volatile.Read(ref _logins);

    /// <summary>
    /// The open connection to <paramref name="peer"/> (named <paramref name="peerName"/> in the pool), opening it if there
    /// is none or the one kept was lost. Null with <paramref name="failure"/> when it cannot be opened.
    /// <paramref name="reused"/> says whether an earlier command or task had opened it.
    /// </summary>
    public SshConnection? Get(string peerName, SshEndpoint peer, CancellationToken cancel, out SshFailure? failure, out bool reused)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = _slots.GetOrAdd(KeyOf(peerName, peer), _ => new Slot());
        lock (slot)
        {
            failure = null;
            reused = false;
            if (slot.PreparedFailure is { } prepared)
            {
                // Opened ahead (Prepare) and failed: that attempt, with its timeout, was this one.
                slot.PreparedFailure = null;
                failure = prepared;
                return null;
            }
            if (slot.Connection is { IsConnected: true } open)
            {
                reused = !slot.Prepared;
                slot.Prepared = false;
                return open;
            }
            slot.Prepared = false;
            slot.Connection?.Dispose(); // lost (the peer closed it, or keep-alives went unanswered)
            slot.Connection = null;
            var connection = SshConnection.Open(peer, cancel, out failure, out _);
            if (connection == null) return null;
            Interlocked.Increment(ref _logins);
            slot.Connection = connection;
            return connection;
        }
    }

    /// <summary>
    /// Opens the connection to a peer ahead of its first use (Stage connects to the next peers while others copy), unless
    /// one is open. The outcome waits in the pool for the next <see cref="Get"/>, which takes a failure as its own
    /// instead of trying again; a Get that comes while this is connecting waits for it.
    /// </summary>
    public void Prepare(string peerName, SshEndpoint peer, CancellationToken cancel)
    {
        if (_disposed) return;
        var slot = _slots.GetOrAdd(KeyOf(peerName, peer), _ => new Slot());
        lock (slot)
        {
            if (slot.Connection is { IsConnected: true } || slot.PreparedFailure != null) return;
            slot.Connection?.Dispose();
            slot.Connection = SshConnection.Open(peer, cancel, out var failure, out _);
            if (slot.Connection == null)
            {
                slot.PreparedFailure = failure;
                return;
            }
            Interlocked.Increment(ref _logins);
            slot.Prepared = true;
        }
    }

    /// <summary>
    /// The connection key. Every field that changes whom the connection reaches or how it authenticates is in it; paths
    /// are made absolute so that two spellings of one file are one key, never two files one key.
    /// </summary>
    internal static string KeyOf(string peerName, SshEndpoint peer) => string.Join('\0',
        peerName, peer.Host, peer.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        string.IsNullOrEmpty(peer.User) ? "" : peer.User,
        string.IsNullOrEmpty(peer.IdentityFile) ? "" : Path.GetFullPath(peer.IdentityFile),
        string.IsNullOrEmpty(peer.KnownHostsFile) ? "" : Path.GetFullPath(peer.KnownHostsFile),
        peer.Ciphers, peer.ConnectTimeout.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        peer.IdleTimeout.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Closes the peer's connection now (no later task of the run needs it).</summary>
    public void Close(string peerName, SshEndpoint peer)
    {
        if (!_slots.TryGetValue(KeyOf(peerName, peer), out var slot)) return;
        lock (slot)
        {
            slot.Connection?.Dispose();
            slot.Connection = null;
            slot.Prepared = false;
        }
    }

    /// <summary>Closes every connection (MSBuild calls this at the end of the build; a task-private pool at the end of its task).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var slot in _slots.Values)
            lock (slot)
            {
                slot.Connection?.Dispose();
                slot.Connection = null;
            }
        _slots.Clear();
    }

    private sealed class Slot
    {
        public SshConnection? Connection;
        /// <summary>Opened by Prepare and not used yet.</summary>
        public bool Prepared;
        public SshFailure? PreparedFailure;
    }
}
