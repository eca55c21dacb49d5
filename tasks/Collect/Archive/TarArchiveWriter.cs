using System.IO.Compression;
using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Writes a GNU-format tar archive, as Cedar Backup's collect action does with Python's tarfile
/// (GNU_FORMAT), optionally gzip- or bzip2-compressed in parallel. Not thread-safe: one caller adds
/// entries; compression and output happen on threads of the writer's own.
/// </summary>
public sealed class TarArchiveWriter : IDisposable
{
    // GNU tar and Python's tarfile pad the archive to whole records of 20 blocks.
    private const int RecordSize = 20 * TarHeader.BlockSize;

    private readonly CompressionPipeline pipeline;
    private readonly ChunkFiller tar;
    private readonly byte[] block = new byte[TarHeader.BlockSize];
    private readonly Dictionary<uint, byte[]> userNames = [];
    private readonly Dictionary<uint, byte[]> groupNames = [];
    private State state = State.Open;

    private enum State { Open, Finished, Broken, Disposed }

    /// <param name="output">Receives the archive; written from a background thread, flushed by
    /// <see cref="Finish"/>, never closed.</param>
    /// <param name="level">Fastest, Optimal (gzip -6) or SmallestSize (gzip -9); bzip2 uses 900 kB blocks
    /// except for Fastest. Ignored for plain tar.</param>
    /// <param name="threads">Compression workers, at least 1.</param>
    public TarArchiveWriter(Stream output, ArchiveFormat format, CompressionLevel level, int threads)
        : this(output, ChunkCompressors.For(format, level), threads, ChunkSizes.For(format))
    {
    }

    /// <summary>
    /// Takes the compressor (null for plain tar) and the chunk size, so tests can choose the bzip2
    /// encoder and produce many chunks from little data.
    /// </summary>
    internal TarArchiveWriter(Stream output, IChunkCompressor? compressor, int threads, int chunkSize)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        pipeline = new CompressionPipeline(output, compressor, chunkSize, threads);
        tar = new ChunkFiller(pipeline);
    }

    /// <summary>Uncompressed tar bytes produced so far.</summary>
    public long BytesIn => tar.Position;

    /// <summary>Bytes written to the output so far; lags behind while chunks are being compressed.</summary>
    public long BytesOut => pipeline.BytesOut;

    /// <summary>
    /// Adds a regular file: a header from <paramref name="stat"/>, then exactly stat.Size bytes of
    /// <paramref name="content"/> (read in large pieces; open it unbuffered). <paramref name="hash"/>, when
    /// given, receives the content bytes stored in the entry.
    /// If reading <paramref name="content"/> throws, the entry is completed with zero bytes, so the archive
    /// stays valid and the writer usable, and the read error propagates.
    /// </summary>
    public FileAddResult AddFile(string entryName, in PosixStat stat, Stream content,
        IncrementalHash? hash = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(entryName);
        return AddFile(TarHeader.Bytes(entryName), stat, content, hash, cancel);
    }

    /// <summary>
    /// <see cref="AddFile(string, in PosixStat, Stream, IncrementalHash?, CancellationToken)"/> with the name's exact
    /// bytes (a walk's path without its leading '/'): no string is made of it on the way.
    /// </summary>
    internal FileAddResult AddFile(ReadOnlySpan<byte> entryName, in PosixStat stat, Stream content,
        IncrementalHash? hash = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(stat.Size);
        EnsureOpen();
        var copy = new EntryContent(tar, content, hash, cancel);
        var entryWhole = false;
        try
        {
            WriteHeaders(entryName, stat, TarHeader.Regular, stat.Size, link: null);
            try
            {
                var result = copy.Copy(stat.Size);
                Pad(stat.Size);
                return result;
            }
            catch when (copy.ReadFailed)
            {
                tar.WriteZeros(copy.Remaining);
                Pad(stat.Size);
                entryWhole = true;
                throw;
            }
        }
        catch when (!entryWhole)
        {
            // Anything else (cancellation, a failed output) leaves the stream mid-entry.
            state = State.Broken;
            throw;
        }
    }

    /// <summary>
    /// Adds a regular file whose content was read beforehand (<see cref="FileReadAhead"/>): a header from
    /// <paramref name="stat"/>, the bytes of <paramref name="content"/> (at most stat.Size), then zero bytes up
    /// to stat.Size: the same entry <see cref="AddFile(string, in PosixStat, Stream, IncrementalHash?, CancellationToken)"/>
    /// makes of a stream that delivered those bytes.
    /// </summary>
    public void AddFile(string entryName, in PosixStat stat, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(entryName);
        AddFile(TarHeader.Bytes(entryName), stat, content);
    }

    /// <summary><see cref="AddFile(string, in PosixStat, ReadOnlySpan{byte})"/> with the name's exact bytes.</summary>
    internal void AddFile(ReadOnlySpan<byte> entryName, in PosixStat stat, ReadOnlySpan<byte> content)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stat.Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(content.Length, stat.Size);
        EnsureOpen();
        try
        {
            WriteHeaders(entryName, stat, TarHeader.Regular, stat.Size, link: null);
            tar.Write(content);
            tar.WriteZeros(stat.Size - content.Length);
            Pad(stat.Size);
        }
        catch
        {
            state = State.Broken;
            throw;
        }
    }

    /// <summary>Adds a symbolic link (type '2') pointing at <paramref name="target"/>, stored as given.</summary>
    public void AddSymlink(string entryName, in PosixStat stat, string target)
    {
        ArgumentNullException.ThrowIfNull(entryName);
        AddSymlink(TarHeader.Bytes(entryName), stat, target);
    }

    /// <summary><see cref="AddSymlink(string, in PosixStat, string)"/> with the name's exact bytes.</summary>
    internal void AddSymlink(ReadOnlySpan<byte> entryName, in PosixStat stat, string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        EnsureOpen();
        try
        {
            WriteHeaders(entryName, stat, TarHeader.Symlink, size: 0, TarHeader.Bytes(target));
        }
        catch
        {
            state = State.Broken;
            throw;
        }
    }

    /// <summary>
    /// Ends the archive (two zero blocks, padded to a 10240-byte record) and waits until everything is
    /// compressed, written and flushed. The output stays open.
    /// </summary>
    public void Finish()
    {
        EnsureOpen();
        try
        {
            tar.WriteZeros(2 * TarHeader.BlockSize);
            tar.WriteZeros(PaddingTo(tar.Position, RecordSize));
            tar.Flush();
            pipeline.Complete();
            state = State.Finished;
        }
        catch
        {
            state = State.Broken;
            throw;
        }
    }

    /// <summary>Stops the writer's threads; the archive is incomplete unless <see cref="Finish"/> returned.</summary>
    public void Dispose()
    {
        if (state == State.Disposed) return;
        state = State.Disposed;
        pipeline.Dispose();
    }

    private void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(state == State.Disposed, this);
        // Programming errors only: a finished archive, or one an earlier exception left mid-entry.
        if (state != State.Open) throw new InvalidOperationException(state.ToString());
    }

    /// <summary>The long-link and long-name entries the names need, then the entry's own header.</summary>
    private void WriteHeaders(ReadOnlySpan<byte> name, in PosixStat stat, byte type, long size, byte[]? link)
    {
        // Same order as GNU tar and Python: the long link target first, then the long name.
        if (link is not null) WriteLongEntry(TarHeader.GnuLongLink, link);
        WriteLongEntry(TarHeader.GnuLongName, name);
        TarHeader.Write(block, new TarHeader.Fields
        {
            Name = name,
            Mode = stat.Mode,
            Uid = stat.Uid,
            Gid = stat.Gid,
            Size = size,
            Mtime = stat.MtimeSeconds,
            Type = type,
            LinkName = link,
            UserName = Cached(userNames, stat.Uid, Posix.UserName),
            GroupName = Cached(groupNames, stat.Gid, Posix.GroupName),
        });
        tar.Write(block);
    }

    private void WriteLongEntry(byte type, ReadOnlySpan<byte> value)
    {
        var size = TarHeader.LongEntrySize(value);
        if (size == 0) return;
        TarHeader.WriteLongEntryHeader(block, type, size);
        tar.Write(block);
        tar.Write(value);
        tar.WriteZeros(1 + PaddingTo(size, TarHeader.BlockSize));
    }

    /// <summary>Zero bytes after an entry's data up to the next block boundary.</summary>
    private void Pad(long dataSize) => tar.WriteZeros(PaddingTo(dataSize, TarHeader.BlockSize));

    private static long PaddingTo(long length, int multiple) => (multiple - length % multiple) % multiple;

    private static byte[] Cached(Dictionary<uint, byte[]> cache, uint id, Func<uint, string> lookUp)
    {
        if (!cache.TryGetValue(id, out var name))
            cache[id] = name = TarHeader.Bytes(lookUp(id));
        return name;
    }
}
