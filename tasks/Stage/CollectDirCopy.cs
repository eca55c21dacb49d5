using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

/// <summary>What staging one peer did: the files it holds, how many were copied, how many were already there.</summary>
public sealed record CopyResult(int Files, int Copied, int Unchanged, long Bytes, bool Failed);

/// <summary>
/// Copies the regular files of a local peer's collect dir (not recursive, indicators included, as
/// Cedar Backup does) into its staging folder. Each copy is atomic, keeps the source's mtime and
/// its owner's permissions (nothing for group and others), and is skipped when the staged file already has the same size and mtime, so
/// staging the same day twice rewrites nothing.
/// </summary>
public sealed class CollectDirCopy
{
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1C0; // rwx------: staged copies are owner-only whatever the source allows (PrivateFiles)

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

    public CopyResult Copy(string collectDir, string peerDir)
    {
        List<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(collectDir, "*", new EnumerationOptions { AttributesToSkip = 0 })
                .Select(p => Path.GetFileName(p)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _error("Stage.CannotReadCollectDir", new object[] { _peer, collectDir, e.Message });
            return new CopyResult(0, 0, 0, 0, Failed: true);
        }

        int files = 0, copied = 0, unchanged = 0;
        long bytes = 0;
        var failed = false;
        foreach (var name in names)
        {
            _cancel.ThrowIfCancellationRequested();
            // A killed Collect run's temporary file is not part of the backup (and a running one's is
            // not finished); Collect cleans up its own folder.
            if (name.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
            {
                _detail("Stage.SkippedTemporary", new object[] { _peer, Path.Combine(collectDir, name) });
                continue;
            }

            var source = Path.Combine(collectDir, name);
            var stat = Posix.LStat(source, out var errno);
            if (stat == null)
            {
                _error("Stage.CopyFailed", new object[] { _peer, source, peerDir, Posix.ErrorText(errno) });
                failed = true;
                continue;
            }
            if (!stat.Value.IsRegular)
            {
                _error("Stage.NotRegularFile", new object[] { _peer, source });
                failed = true;
                continue;
            }

            var target = Path.Combine(peerDir, name);
            try
            {
                if (IsSameFile(stat.Value, target))
                {
                    unchanged++;
                }
                else
                {
                    CopyOne(source, target, stat.Value);
                    copied++;
                }
                files++;
                bytes += stat.Value.Size;
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
        return new CopyResult(files, copied, unchanged, bytes, failed);
    }

    /// <summary>Size and mtime (to the 100 ns a DateTime can carry, which is what a copy preserves).</summary>
    private static bool IsSameFile(PosixStat source, string target)
    {
        var staged = Posix.LStat(target, out _);
        return staged is { IsRegular: true } s
            && s.Size == source.Size
            && s.MtimeSeconds == source.MtimeSeconds
            && s.MtimeNanos / 100 == source.MtimeNanos / 100;
    }

    private void CopyOne(string source, string target, PosixStat stat)
    {
        AtomicFile.Write(target, temp =>
        {
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            {
                // Archives can be gigabytes: Ctrl+C stops between chunks, and AtomicFile drops the temp file.
                var buffer = new byte[1 << 20];
                int read;
                while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                {
                    _cancel.ThrowIfCancellationRequested();
                    temp.Write(buffer, 0, read);
                }
            }
            // Everything is written before the times are set, so the final flush cannot move the mtime;
            // the file is published (renamed) already carrying its final mtime and mode.
            temp.Flush();
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp.SafeFileHandle, (UnixFileMode)stat.Permissions & PermissionBits);
            File.SetLastWriteTimeUtc(temp.SafeFileHandle, stat.ModificationTime.UtcDateTime);
        });
    }
}
