using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

public enum PeerOutcome { Staged, Unchanged, NotReady, Failed }

/// <summary>What staging one peer came to, for its summary line.</summary>
public sealed record PeerResult(PeerOutcome Outcome, int Files, long Bytes, TimeSpan Elapsed);

/// <summary>
/// Stages one remote peer: one SSH.NET connection (<see cref="SshConnection"/>, host key checked against the same
/// known_hosts files ssh reads) carries the listing of its collect dir (readiness, and what changed since it was last
/// staged) and the staged mark; rsync (or scp -O) over OpenSSH copies it into a temporary folder that replaces the
/// peer's staging folder only once complete. A RemoteShell other than plain "ssh" (a wrapper, extra options) keeps
/// every command on that program, one ssh process per command, as before SSH.NET.
/// </summary>
public sealed class RemotePeerStage
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromHours(24);
    /// <summary>rsync, scp and touch print next to nothing; a peer that makes them print more is cut off here.</summary>
    private const long CopyOutputLimit = 1 << 20;
    /// <summary>How many unexpected entries of one copy are named in the log (the rest are counted).</summary>
    private const int ReportedEntries = 20;

    private readonly StagePeer _peer;
    private readonly SshEndpoint _ssh;
    private readonly PeerLog _log;
    private readonly bool _forgiven;
    private readonly CancellationToken _cancel;
    private readonly SshConnectionPool? _pool;
    private readonly bool _keepConnection;
    private SshConnection? _connection;

    /// <param name="pool">The build's connections (<see cref="SshConnectionPool"/>): the peer's connection is taken from
    /// there, and left there for the tasks after Stage (the managed runs) when <paramref name="keepConnection"/>.</param>
    public RemotePeerStage(StagePeer peer, PeerLog log, bool forgiven, CancellationToken cancel, SshConnectionPool? pool = null,
        bool keepConnection = false)
    {
        _pool = pool;
        _keepConnection = keepConnection;
        _peer = peer;
        _ssh = peer.Ssh!;
        _log = log;
        _forgiven = forgiven;
        _cancel = cancel;
    }

    /// <summary>Whether the peer's commands go over SSH.NET: RemoteShell is plain "ssh" (the default).</summary>
    public static bool UsesSshNet(SshEndpoint ssh) => ssh.ShellCommand is ["ssh"];

    public PeerResult Stage(string peerDir)
    {
        var clock = Stopwatch.StartNew();
        if (!UsesSshNet(_ssh)) return Timed(StageOver(peerDir, clock));
        _connection = Connect(out var failure);
        _phases.Connect = clock.Elapsed;
        if (_connection == null)
        {
            Report(failure!, copying: false);
            return new PeerResult(PeerOutcome.Failed, 0, 0, clock.Elapsed);
        }
        try
        {
            return Timed(StageOver(peerDir, clock));
        }
        finally
        {
            if (_pool == null) _connection?.Dispose();
            else if (!_keepConnection) _pool.Close(_peer.Name, _ssh); // else kept for the managed runs, closed at the build's end
        }
    }

    /// <summary>The peer's connection: the build's (opened now or by an earlier task), or one of Stage's own.</summary>
    private SshConnection? Connect(out SshFailure? failure)
    {
        if (_pool == null) return SshConnection.Open(_ssh, _cancel, out failure, out _);
        var c = _pool.Get(_peer.Name, _ssh, _cancel, out failure, out var reused);
        if (c != null && reused) _log.Detail("Stage.ConnectionReused", _peer.Name, _ssh.Target);
        return c;
    }

    /// <summary>One command on the peer: over the open connection, or with one ssh process.</summary>
    private (ProgramResult Result, SshFailure? Failure) Run(string command, TimeSpan timeout, long outputLimit)
    {
        if (_connection == null)
        {
            var r = RemoteShell.Execute(_ssh, command, timeout, _cancel, outputLimit);
            if (r.Succeeded || r.Overflowed) return (r, null);
            return (r, new SshFailure(RemoteShell.Classify(r), Detail(LastLine(r.Error))));
        }
        if (!_connection.IsConnected)
        {
            // The copy may have taken hours over its own connection: this one is opened again once if it was lost.
            if (_pool == null) _connection.Dispose();
            _connection = Connect(out var lost);
            if (_connection == null) return (new ProgramResult(-1, Array.Empty<byte>(), lost!.Detail, false, false), lost);
        }
        var result = _connection.Execute(command, timeout, _cancel, outputLimit, out var failure);
        if (failure == null && !result.Succeeded && !result.Overflowed)
            failure = new SshFailure(RemoteShell.Failure.Command, Detail(LastLine(result.Error)));
        return (result, failure);
    }

    private PeerResult StageOver(string peerDir, Stopwatch clock)
    {
        PeerResult Done(PeerOutcome o, int files = 0, long bytes = 0) => new(o, files, bytes, clock.Elapsed);

        // The listing is untrusted input: bounded while it is read, and every record checked before any is used.
        var phase = Stopwatch.StartNew();
        var (listing, failure) = Run(RemoteEntry.ListCommand(_peer.CollectDir), CommandTimeout, RemoteListing.MaxBytes);
        _phases.Listing = phase.Elapsed;
        if (listing.Overflowed)
        {
            _log.Error("Stage.RemoteListingTooLarge", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, RemoteListing.MaxBytes);
            return Done(PeerOutcome.Failed);
        }
        if (failure != null)
        {
            if (failure.Kind == RemoteShell.Failure.Command && listing.Error.Contains("No such file or directory"))
            {
                // find ran and the collect dir is not there: the peer has nothing ready.
                NotReady();
                return Done(PeerOutcome.NotReady);
            }
            Report(failure, copying: false, listing);
            return Done(PeerOutcome.Failed);
        }
        if (!RemoteListing.TryParse(listing.OutputBytes, out var entries, out var problem))
        {
            _log.Error("Stage.RemoteListingInvalid", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, problem!.Record, problem.Reason, problem.Excerpt);
            return Done(PeerOutcome.Failed);
        }
        if (!entries.Any(e => e.Type == 'f' && e.Name == Indicators.Collect))
        {
            NotReady();
            return Done(PeerOutcome.NotReady);
        }
        var odd = entries.Where(e => e.Type != 'f').ToList();
        foreach (var e in odd) _log.Failure(_forgiven, "Stage.NotRegularFile", _peer.Name, _peer.CollectDir.TrimEnd('/') + "/" + e.Name);
        if (odd.Count > 0) return Done(PeerOutcome.Failed);

        var files = entries.Count;
        var bytes = entries.Sum(e => e.Size);
        if (Unchanged(entries, peerDir))
        {
            _log.High("Stage.RemoteUnchanged", _peer.Name, _ssh.Target, peerDir);
            MarkStaged(entries);
            return Done(PeerOutcome.Unchanged, files, bytes);
        }

        var temp = AtomicFile.TempDirectoryFor(peerDir);
        Directory.CreateDirectory(temp);
        ProgramResult copy;
        phase.Restart();
        var copiedOver = CopiesOverConnection(entries);
        if (copiedOver)
        {
            var received = CopyOverConnection(temp, entries, bytes, peerDir);
            if (received == null) return Done(PeerOutcome.Failed);
            copy = received;
        }
        else copy = Copy(temp, peerDir);
        _phases.Copy = phase.Elapsed;
        if (copy.Succeeded && PrivateFiles.RestrictTree(temp) is [var (bad, why), ..]) // scp -p copies the peer's modes: owner-only before it is published
        { TryDelete(temp); _log.Failure(_forgiven, "Stage.NotPrivate", _peer.Name, bad, why); return Done(PeerOutcome.Failed); }
        if (!copy.Succeeded)
        {
            // The master's own disk: rsync and scp name a full staging disk by what it did to the copy ("error in file
            // IO (code 11)", "Broken pipe"), so it is told apart here, before the partial copy is removed.
            var full = copy.Overflowed ? null : StagingDiskFull(copy.Error, temp, bytes);
            TryDelete(temp);
            if (full != null)
            {
                _log.Error("Stage.CopyFailed", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, peerDir, full);
                return Done(PeerOutcome.Failed);
            }
            var r = copy.Overflowed ? copy with { ExitCode = 1, Error = $"it printed more than {CopyOutputLimit} bytes" } : copy;
            Report(new SshFailure(RemoteShell.Classify(r), Detail(LastLine(r.Error))), copying: true, r);
            return Done(PeerOutcome.Failed);
        }
        // What arrived is checked against the listing: the other end of the copy is the peer, which may lie.
        var (unexpected, missing) = RemoteCopyCheck.Check(temp, entries);
        if (unexpected.Count > 0 || missing.Count > 0)
        {
            TryDelete(temp);
            foreach (var u in unexpected.Take(ReportedEntries))
                _log.Error("Stage.RemoteCopyUnexpected", _peer.Name, _ssh.Target, u.Name, u.Reason);
            if (unexpected.Count > ReportedEntries) _log.Detail("Stage.RemoteCopyUnexpectedMore", _peer.Name, unexpected.Count - ReportedEntries);
            if (missing.Count > 0) _log.Failure(_forgiven, "Stage.RemoteIncomplete", _peer.Name, _ssh.Target);
            return Done(PeerOutcome.Failed);
        }
        // rsync and scp leave their files in the page cache: nothing is marked staged before its data is on disk.
        if (!copiedOver && FlushCopy(temp) is { } notFlushed)
        {
            var full = StagingDiskFull(notFlushed, temp, bytes);
            TryDelete(temp);
            _log.Error("Stage.CopyFailed", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, peerDir, full ?? notFlushed);
            return Done(PeerOutcome.Failed);
        }
        AtomicFile.ReplaceDirectory(temp, peerDir);
        // The rename too, before the peer is told its collect dir was staged.
        if (!DirectoryHandle.FlushFolder(Path.GetDirectoryName(peerDir.TrimEnd('/'))!, out var notRenamed))
        {
            _log.Error("Stage.CopyFailed", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, peerDir,
                "cannot flush the staging folder to disk: " + Posix.ErrorText(notRenamed));
            return Done(PeerOutcome.Failed);
        }
        _log.High("Stage.RemoteStaged", _peer.Name, _ssh.Target, files, Units.Bytes(bytes), peerDir, Units.Seconds(clock.Elapsed));
        MarkStaged(entries);
        return Done(PeerOutcome.Staged, files, bytes);
    }

    private void NotReady()
    {
        if (_forgiven) _log.High("Stage.NotReadyIgnored", _peer.Name, _ssh.Target + ":" + _peer.CollectDir, _peer.MetadataValue);
        else _log.Error("Stage.NotReady", _peer.Name, _ssh.Target + ":" + _peer.CollectDir);
    }

    /// <summary>Every remote file (but the cback.stage we write there) is staged with its size and time, and nothing else is.</summary>
    private static bool Unchanged(List<RemoteEntry> entries, string peerDir)
    {
        if (!Directory.Exists(peerDir)) return false;
        var wanted = entries.Where(e => e.Name != Indicators.Stage).ToList();
        var staged = Directory.EnumerateFiles(peerDir).Select(Path.GetFileName).Where(n => n != Indicators.Stage).ToHashSet();
        if (staged.Count != wanted.Count) return false;
        foreach (var e in wanted)
        {
            var local = new FileInfo(Path.Combine(peerDir, e.Name));
            if (!local.Exists || local.Length != e.Size ||
                new DateTimeOffset(local.LastWriteTimeUtc).ToUnixTimeSeconds() != e.MtimeSeconds)
                return false;
        }
        return true;
    }

    /// <summary>
    /// RemoteCopy "ssh" (the default) copies over the peer's SSH.NET connection (no second login, no process here) when
    /// there is one, and when every listed name is one a shell's "*" matches (a name starting with "." is not sent by
    /// `scp -f DIR/*`): then rsync copies, as it does without a connection (RemoteShell other than plain "ssh").
    /// </summary>
    private bool CopiesOverConnection(List<RemoteEntry> entries) =>
        _connection != null && _peer.CopyCommand is ["ssh"] && !entries.Any(e => e.Name.StartsWith('.'));

    /// <summary>
    /// The peer's files over its connection: the peer runs `scp -p -f DIR/*` (what the gate allows) and
    /// <see cref="ScpReceiver"/> takes the files one by one into <paramref name="temp"/>, each checked against the listing
    /// before a byte of it is written. Null when it failed (logged, <paramref name="temp"/> removed).
    /// </summary>
    private ProgramResult? CopyOverConnection(string temp, List<RemoteEntry> entries, long bytes, string peerDir)
    {
        var source = _ssh.Target + ":" + _peer.CollectDir;
        if (!_connection!.IsConnected)
        {
            if (_pool == null) _connection.Dispose();
            _connection = Connect(out var lost);
            if (_connection == null)
            {
                TryDelete(temp);
                Report(lost!, copying: true);
                return null;
            }
        }
        using var folder = DirectoryHandle.Open(temp, followLink: false, out var errno);
        if (folder == null)
        {
            TryDelete(temp);
            _log.Error("Stage.CopyFailed", _peer.Name, source, peerDir, Posix.ErrorText(errno));
            return null;
        }
        var receiver = new ScpReceiver(folder, entries, _cancel);
        var command = "scp -p -f " + RemoteShell.Quote(_peer.CollectDir.TrimEnd('/')) + "/*";
        var r = _connection.Converse(command, _ssh.IdleTimeout, CopyTimeout, _cancel, receiver.Receive, out var failure);
        if (receiver.Unexpected is { } u)
        {
            TryDelete(temp);
            _log.Error("Stage.RemoteCopyUnexpected", _peer.Name, _ssh.Target, u.Name, u.Reason);
            return null;
        }
        if (receiver.LocalWriteFailed)
        {
            var full = StagingDiskFull(receiver.Failure ?? "", temp, bytes);
            TryDelete(temp);
            _log.Error("Stage.CopyFailed", _peer.Name, source, peerDir, full ?? receiver.Failure ?? "");
            return null;
        }
        if (failure == null && r.ExitCode != 0)
            failure = new SshFailure(RemoteShell.Failure.Command, Detail(receiver.Failure ?? LastLine(r.Error)));
        else if (failure == null && receiver.Failure != null)
            failure = new SshFailure(RemoteShell.Failure.Command, Detail(receiver.Failure));
        if (failure != null)
        {
            TryDelete(temp);
            Report(failure, copying: true, r.ExitCode == 0 && !r.TimedOut ? r with { ExitCode = -1 } : r);
            return null;
        }
        if (!receiver.FlushToDisk(out var notFlushed))
        {
            var full = StagingDiskFull(notFlushed!, temp, bytes);
            TryDelete(temp);
            _log.Error("Stage.CopyFailed", _peer.Name, source, peerDir, full ?? notFlushed!);
            return null;
        }
        _log.Detail("Stage.CopiedOverConnection", _peer.Name, receiver.Files, Units.Bytes(receiver.Bytes));
        return r;
    }

    /// <summary>fsync of every file rsync or scp put into <paramref name="temp"/> and of the folder; null when done, else why not.</summary>
    private static string? FlushCopy(string temp)
    {
        using var folder = DirectoryHandle.Open(temp, followLink: false, out var errno);
        var names = folder?.ReadNames(out errno);
        if (folder == null || names == null) return $"cannot open {temp} to flush it to disk: {Posix.ErrorText(errno)}";
        if (folder.FlushToDisk(names, out var failed, out errno)) return null;
        return $"cannot flush {(failed == null ? temp : PosixPath.Display(PosixPath.Decode(failed)))} to disk: {Posix.ErrorText(errno)}";
    }

    private ProgramResult Copy(string temp, string previous)
    {
        // RemoteCopy "ssh" without a connection to copy over: rsync, as before there was one.
        var program = _peer.CopyCommand is ["ssh"] ? "rsync" : _peer.CopyCommand[0];
        var args = new List<string>(_peer.CopyCommand.Skip(1));
        var source = _peer.CollectDir.TrimEnd('/');
        if (Path.GetFileName(program) == "rsync")
        {
            // Unchanged archives are hard-linked from the previous staging of the day instead of copied again.
            // Only regular files with their times: no links, devices, owners or modes of the peer's choosing
            // (-d: the folder's own entries, not recursive; a folder the peer sends anyway is caught by the check).
            args.AddRange(new[] { "-t", "-d", "--chmod=D700,F600", "-e", _ssh.ShellCommandLine });
            if (Directory.Exists(previous)) args.Add("--link-dest=" + previous);
            args.Add($"{_ssh.Target}:{source}/");
            args.Add(temp + "/");
        }
        else
        {
            // scp -O: the legacy protocol, whose remote side expands the wildcard in a shell.
            args.AddRange(new[] { "-p", "-B", "-P", _ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            args.AddRange(_ssh.Options.Skip(2)); // ssh's "-p PORT" is scp's "-P PORT", given above
            if (_ssh.ShellCommand[0] != "ssh") args.AddRange(new[] { "-S", _ssh.ShellCommand[0] });
            args.Add($"{_ssh.Target}:{RemoteShell.Quote(source)}/*");
            args.Add(temp + "/");
        }
        return ProgramRunner.Run(program, args, CopyTimeout, _cancel, new ProgramOptions { CLocale = true, OutputLimit = CopyOutputLimit });
    }

    /// <summary>How long each step of this peer took, for the log (-v:n): where a pool's time goes.</summary>
    private struct Phases
    {
        public TimeSpan? Connect, Listing, Copy, Mark;
    }

    private Phases _phases;

    private PeerResult Timed(PeerResult result)
    {
        static string S(TimeSpan? t) => t is { } v ? Units.Seconds(v) : "-";
        _log.Detail("Stage.RemotePhases", _peer.Name, S(_phases.Connect), S(_phases.Listing), S(_phases.Copy), S(_phases.Mark));
        return result;
    }

    private void MarkStaged(List<RemoteEntry> entries)
    {
        if (entries.Any(e => e.Name == Indicators.Stage)) return;
        var phase = Stopwatch.StartNew();
        try { MarkStagedOver(); } finally { _phases.Mark = phase.Elapsed; }
    }

    private void MarkStagedOver()
    {
        var path = _peer.CollectDir.TrimEnd('/') + "/" + Indicators.Stage;
        var (r, failure) = Run("touch -- " + RemoteShell.Quote(path), CommandTimeout, CopyOutputLimit);
        if (failure != null || !r.Succeeded)
            _log.Error("Stage.CannotWritePeerIndicator", _peer.Name, _ssh.Target + ":" + _peer.CollectDir,
                failure is { Kind: not RemoteShell.Failure.Command } ? failure.Detail : r.Error.Trim());
    }

    /// <summary>A failure of the peer's connection, a command or the copy, as the Stage code of its kind.</summary>
    private void Report(SshFailure failure, bool copying, ProgramResult? r = null)
    {
        var detail = failure.Detail;
        switch (failure.Kind)
        {
            case RemoteShell.Failure.Unreachable:
                _log.Failure(_forgiven, "Stage.RemoteUnreachable", _peer.Name, _ssh.Target, _ssh.Port, detail);
                break;
            case RemoteShell.Failure.AuthenticationRefused:
                _log.Failure(_forgiven, "Stage.RemoteRefused", _peer.Name, _ssh.Target, detail);
                break;
            case RemoteShell.Failure.HostKey:
                _log.Failure(_forgiven, "Stage.RemoteHostKey", _peer.Name, _ssh.Host, _ssh.Port, detail,
                    string.IsNullOrEmpty(_ssh.KnownHostsFile)
                        ? $"~/.ssh/known_hosts of the user running Stage ({Environment.UserName})"
                        : _ssh.KnownHostsFile);
                break;
            case RemoteShell.Failure.Unsupported:
                _log.Failure(_forgiven, "Stage.SshNetUnsupported", _peer.Name, _ssh.Target, detail);
                break;
            default:
                var how = r is { TimedOut: true } ? "timed out"
                    : failure.Kind == RemoteShell.Failure.Dropped && !copying && _connection != null ? "the connection dropped"
                    : $"exit code {r?.ExitCode ?? -1}";
                _log.Failure(_forgiven, copying ? "Stage.RemoteCopyFailed" : "Stage.RemoteCommandFailed", _peer.Name, _ssh.Target,
                    how, detail);
                break;
        }
    }

    /// <summary>
    /// Why a failed copy into <paramref name="temp"/> failed when the staging file system is full, or null: a copy
    /// program reported ENOSPC, or the file system has less room left than what was still to copy (rsync removes its
    /// partial file before it exits, so what is free is compared with what is missing, not with zero).
    /// </summary>
    internal static string? StagingDiskFull(string copyError, string temp, long total)
    {
        long copied = 0, free;
        try
        {
            copied = Directory.EnumerateFiles(temp).Sum(f => new FileInfo(f).Length);
            var drive = new DriveInfo(temp);
            free = Environment.IsPrivilegedProcess ? drive.TotalFreeSpace : drive.AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return null; }
        var left = Math.Max(0, total - copied);
        if (!copyError.Contains("No space left on device", StringComparison.Ordinal) && free >= left) return null;
        return $"No space left on device: the staging file system has {Units.Bytes(free)} free and {Units.Bytes(left)} of the peer's {Units.Bytes(total)} were still to copy";
    }

    /// <summary>ssh's last line as the cause of a message; its sentence is ended by the message (Sentences).</summary>
    private static string Detail(string text) => text.Trim() is { Length: > 0 } t ? t : "(no message)";

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
