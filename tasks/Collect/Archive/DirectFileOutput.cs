using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Writes an archive into a new, empty file past the page cache (O_DIRECT, Linux): the compressed stream is gathered
/// in an aligned buffer and written in whole 4 MiB blocks straight to the disk, the last partial block through the
/// page cache. Buffered, the kernel copied every byte into freshly allocated cache pages — about a sixth of a tarzst
/// Collect's CPU time — and the fsync before the archive is renamed into place then waited for all of it to reach the
/// disk with every core idle. Where the file system refuses O_DIRECT (tmpfs, some network file systems) or a direct
/// write fails with EINVAL, it writes through the page cache instead and asks the kernel to start writing each 8 MiB
/// back as it comes (sync_file_range), so the fsync still finds little left. Either way the caller's fsync (the
/// archive's <see cref="Infrastructure.AtomicFile.Pending.Commit"/>) is what makes the file durable.
/// Written from one thread (the pipeline's output thread); the file stream itself is never written through, only
/// its descriptor, so its own position stays 0. Never closes the file.
/// </summary>
internal sealed unsafe class DirectFileOutput : Stream
{
    private const int Alignment = 4096;

    /// <summary>Bytes gathered before each direct write.</summary>
    internal const int BlockBytes = 4 << 20;

    /// <summary>Through the page cache: bytes written between two requests to start writing them back.</summary>
    internal const int WritebackStep = 8 << 20;

    private readonly SafeFileHandle handle;
    private byte* block;
    private int filled;
    private long offset;
    private long notWrittenBack;
    private bool direct;

    /// <param name="file">A new, empty file, open for writing, not written through while this writes to it.</param>
    /// <param name="tryDirect">False (tests): through the page cache, as where the file system refuses O_DIRECT.</param>
    public DirectFileOutput(FileStream file, bool tryDirect = true)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length != 0 || file.Position != 0) throw new ArgumentException("the archive file must be new and empty", nameof(file));
        handle = file.SafeFileHandle;
        direct = tryDirect && SetDirect(handle, on: true);
        if (direct) block = (byte*)NativeMemory.AlignedAlloc(BlockBytes, Alignment);
    }

    /// <summary>Whether the bytes still go to the disk directly (tests).</summary>
    internal bool Direct => direct;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => offset + filled;
    public override long Position { get => Length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        while (!data.IsEmpty)
        {
            if (!direct)
            {
                WriteBuffered(data);
                return;
            }
            var n = Math.Min(data.Length, BlockBytes - filled);
            data[..n].CopyTo(new Span<byte>(block + filled, n));
            filled += n;
            data = data[n..];
            if (filled == BlockBytes) WriteBlock(BlockBytes);
        }
    }

    /// <summary>
    /// Writes what is gathered: the whole blocks directly, the rest (less than 4 KiB) through the page cache, after
    /// which the file is written through the page cache only. Called once the stream is complete.
    /// </summary>
    public override void Flush()
    {
        if (direct)
        {
            var whole = filled & ~(Alignment - 1);
            if (whole > 0) WriteBlock(whole);
            if (direct) Buffered();
        }
        if (filled == 0) return;
        var tail = filled;
        filled = 0;
        WriteBuffered(new ReadOnlySpan<byte>(block, tail));
    }

    /// <summary>Writes the first <paramref name="count"/> gathered bytes (a multiple of 4 KiB) directly and keeps the rest.</summary>
    private void WriteBlock(int count)
    {
        var written = 0;
        try
        {
            while (written < count)
            {
                var n = PWrite(new ReadOnlySpan<byte>(block + written, count - written), offset);
                written += n;
                offset += n;
                // A short direct write leaves an unaligned offset: go on through the page cache.
                if ((n & (Alignment - 1)) != 0 && written < count) break;
            }
        }
        catch (IOException e) when (e.HResult == Invalid)
        {
            // The file system took O_DIRECT but not this write (an alignment it needs larger than 4 KiB).
        }
        if (written < count)
        {
            Buffered();
            WriteBuffered(new ReadOnlySpan<byte>(block + written, count - written));
        }
        var rest = filled - count;
        if (rest > 0) Buffer.MemoryCopy(block + count, block, BlockBytes, rest);
        filled = rest;
    }

    /// <summary>Through the page cache from here on (O_DIRECT cleared).</summary>
    private void Buffered()
    {
        direct = false;
        if (!SetDirect(handle, on: false))
            throw new IOException("fcntl: cannot clear O_DIRECT: " + Infrastructure.Posix.ErrorText(Marshal.GetLastPInvokeError()));
    }

    private void WriteBuffered(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = PWrite(data, offset);
            offset += n;
            data = data[n..];
            notWrittenBack += n;
        }
        if (notWrittenBack >= WritebackStep)
        {
            // A hint only: an error here is not the write's (the fsync reports what matters).
            _ = SyncFileRange(Fd, offset - notWrittenBack, notWrittenBack, SyncFileRangeWrite);
            notWrittenBack = 0;
        }
    }

    private int Fd => (int)handle.DangerousGetHandle();

    private const int Invalid = 22; // EINVAL
    private const int Interrupted = 4; // EINTR

    private int PWrite(ReadOnlySpan<byte> data, long at)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            while (true)
            {
                nint n;
                fixed (byte* p = data) n = pwrite(Fd, p, data.Length, at);
                if (n > 0) return (int)n;
                var errno = n == 0 ? 28 /* ENOSPC: no progress */ : Marshal.GetLastPInvokeError();
                if (errno == Interrupted) continue;
                throw new IOException("write: " + Infrastructure.Posix.ErrorText(errno), errno);
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>Turns O_DIRECT on or off for the open file; false (errno set) when the file system refuses it.</summary>
    private static bool SetDirect(SafeFileHandle file, bool on)
    {
        if (!OperatingSystem.IsLinux() || DirectFlag == 0) return false;
        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var fd = (int)file.DangerousGetHandle();
            var flags = fcntl(fd, GetFlags, 0);
            if (flags < 0) return false;
            return fcntl(fd, SetFlags, on ? flags | DirectFlag : flags & ~DirectFlag) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    // O_DIRECT differs between architectures (asm-generic and x86 040000, arm and arm64 0200000); elsewhere none is used.
    private static readonly int DirectFlag = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => 0,
    };

    private const int GetFlags = 3; // F_GETFL
    private const int SetFlags = 4; // F_SETFL
    private const uint SyncFileRangeWrite = 2; // SYNC_FILE_RANGE_WRITE: start writing back, do not wait

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true)]
    private static extern nint pwrite(int fd, byte* buffer, nint count, long offset);

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(int fd, long offset, long count, uint flags);

    protected override void Dispose(bool disposing)
    {
        direct = false;
        filled = 0;
        if (block != null)
        {
            NativeMemory.AlignedFree(block);
            block = null;
        }
        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
