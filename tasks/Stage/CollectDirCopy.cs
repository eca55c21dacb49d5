using BackupBuild.Tasks.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Stage;

/// <summary>What staging one peer did: the files it holds, how many were copied, how many were already there.</summary>
public sealed record CopyResult(int Files, int Copied, int Unchanged, long Bytes, bool Failed);

/// <summary>
/// Copies the regular files of a local peer's collect dir (not recursive, indicators included, as
/// Cedar Backup does) into its staging folder. The collect dir is opened once (a symlink in its place is
/// refused) and every file is opened beneath it without following a link; what is copied, and its size
/// and time, come from the opened file (fstat), never from an earlier lookup by path. Each copy is
/// created new with <see cref="StagedFiles.Mode"/> (never the source's mode), keeps the source's mtime,
/// is renamed into place when complete, and is skipped when the staged file already has the same size
/// and mtime, so staging the same day twice rewrites nothing. The peer's cback.collect is copied last, and only
/// when every other file was: a copy stopped part way (a full staging disk) never looks collected, and a
/// cback.collect an earlier staging of the day left is removed when this one changed files and then failed.
/// </summary>
public sealed class CollectDirCopy
{
    private readonly string _peer;
    private readonly Action<string, object[]> _error;
    private readonly Action<string, object[]> _detail;
    private readonly CancellationToken _cancel;

    public CollectDirCopy(string peer, Action<string, object[]> error, Action<string, object[]> detail, CancellationToken cancel)
    {
        _peer = peer;
        _error = error;
        _detail = detail;
        _cancel = cancel;
    }

    public CopyResult Copy(DirectoryHandle collect, string peerDir)
    {
        var collectDir = collect.Path;
        var names = collect.ReadNames(out var listErrno);
        if (names == null)
        {
            _error("Stage.CannotReadCollectDir", new object[] { _peer, collectDir, Posix.ErrorText(listErrno) });
            return new CopyResult(0, 0, 0, 0, Failed: true);
        }
        using var staging = DirectoryHandle.Open(peerDir, followLink: false, out var stagingErrno);
        if (staging == null)
        {
            _error("Stage.CannotCreatePeerFolder", new object[] { _peer, peerDir, Posix.ErrorText(stagingErrno) });
            return new CopyResult(0, 0, 0, 0, Failed: true);
        }

        int files = 0, copied = 0, unchanged = 0;
        long bytes = 0;
        var failed = false;
        var collectName = System.Text.Encoding.ASCII.GetBytes(Indicators.Collect);
        // cback.collect last (Cedar's order is the listing's; any order is valid for a Cedar master).
        var ordered = names.Where(n => !n.AsSpan().SequenceEqual(collectName)).ToList();
        var hasCollect = ordered.Count != names.Count;
        foreach (var nameBytes in hasCollect ? ordered.Append(collectName) : ordered)
        {
            if (failed && hasCollect && nameBytes == collectName)
            {
                // Something else failed: the folder must not look collected.
                if (copied > 0) staging.Unlink(collectName, directory: false, out _);
                break;
            }
            _cancel.ThrowIfCancellationRequested();
            var name = PosixPath.Decode(nameBytes);
            var source = PosixPath.Display(collectDir.TrimEnd('/') + "/" + name);
            // A killed Collect run's temporary file is not part of the backup (and a running one's is
            // not finished); Collect cleans up its own folder.
            if (name.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
            {
                _detail("Stage.SkippedTemporary", new object[] { _peer, source });
                continue;
            }

            // Opened without following a link: a name swapped for a symlink after the listing fails here
            // (ELOOP), and a fifo or device swapped in is seen by fstat below, before anything is read.
            using var handle = collect.OpenRead(nameBytes, out var errno);
            if (handle == null)
            {
                if (errno == Errno.Loop) _error("Stage.NotRegularFile", new object[] { _peer, source });
                else _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
                failed = true;
                continue;
            }
            var stat = Posix.FStat(handle, out errno);
            if (stat is not { IsRegular: true } opened)
            {
                if (stat == null) _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
                else _error("Stage.NotRegularFile", new object[] { _peer, source });
                failed = true;
                continue;
            }

            try
            {
                if (IsSameFile(opened, staging, nameBytes))
                {
                    unchanged++;
                }
                else if (CopyOne(handle, opened, staging, nameBytes, source, peerDir))
                {
                    copied++;
                }
                else
                {
                    failed = true;
                    continue;
                }
                files++;
                bytes += opened.Size;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, e.Message });
                failed = true;
            }
        }

        if (files == 0 && !failed)
        {
            _error("Stage.NoFiles", new object[] { _peer, collectDir });
            failed = true;
        }
        // Each file was flushed before its rename; the renames (and the peer's folder in the day's) are made durable
        // before anything is marked staged.
        if (!failed && copied > 0 &&
            !(staging.FlushToDisk(Array.Empty<byte[]>(), out _, out var syncErrno) &&
              DirectoryHandle.FlushFolder(Path.GetDirectoryName(peerDir.TrimEnd('/'))!, out syncErrno)))
        {
            _error("Stage.CopyFailed", new object[] { _peer, collectDir, peerDir, "cannot flush the staging folder to disk: " + Posix.ErrorText(syncErrno) });
            failed = true;
        }
        return new CopyResult(files, copied, unchanged, bytes, failed);
    }

    /// <summary>Size and mtime (to the 100 ns a DateTime can carry, which is what earlier copies preserved).</summary>
    private static bool IsSameFile(PosixStat source, DirectoryHandle staging, byte[] name)
    {
        var staged = staging.LStat(name, out _);
        return staged is { IsRegular: true } s
            && s.Size == source.Size
            && s.MtimeSeconds == source.MtimeSeconds
            && s.MtimeNanos / 100 == source.MtimeNanos / 100;
    }

    /// <summary>
    /// Copies exactly the size fstat gave for the opened file into a new temporary file of the staging
    /// folder, checks that the source did not change meanwhile, and renames the copy into place.
    /// </summary>
    private bool CopyOne(SafeFileHandle handle, PosixStat stat, DirectoryHandle staging, byte[] name, string source, string peerDir)
    {
        var temp = System.Text.Encoding.ASCII.GetBytes(AtomicFile.TempPrefix + Guid.NewGuid().ToString("N")[..12]);
        var output = staging.CreateNew(temp, StagedFiles.Mode, out var errno);
        if (output == null)
        {
            _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
            return false;
        }
        var published = false;
        try
        {
            using (var input = new FileStream(handle, FileAccess.Read, bufferSize: 1))
            using (var stream = new FileStream(output, FileAccess.Write, bufferSize: 1))
            {
                // Archives can be gigabytes: Ctrl+C stops between chunks, and the temp file is removed.
                var buffer = new byte[1 << 20];
                long left = stat.Size;
                while (left > 0)
                {
                    _cancel.ThrowIfCancellationRequested();
                    var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (read == 0) break;
                    stream.Write(buffer, 0, read);
                    left -= read;
                }
                var after = Posix.FStat(handle, out _);
                if (left != 0 || input.Read(buffer, 0, 1) != 0 || after is not { } a || a.Size != stat.Size ||
                    a.MtimeSeconds != stat.MtimeSeconds || a.MtimeNanos != stat.MtimeNanos)
                {
                    _error("Stage.ChangedWhileStaged", new object[] { _peer, source });
                    return false;
                }
                // The copy is published (renamed) already carrying its final mtime; its mode is the one it was created with.
                stream.Flush(flushToDisk: true);
                if (!Posix.FSetTimes(output, stat.MtimeSeconds, stat.MtimeNanos, out errno))
                {
                    _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
                    return false;
                }
            }
            if (!staging.Rename(temp, name, out errno))
            {
                _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
                return false;
            }
            published = true;
            return true;
        }
        finally
        {
            if (!published) staging.Unlink(temp, directory: false, out _);
        }
    }
}

/// <summary>How Stage creates the files it writes into the staging folder.</summary>
public static class StagedFiles
{
    /// <summary>Every staged file is created with this mode (owner read and write), never with its source's.</summary>
    public const uint Mode = 0x180; // 0600
}
