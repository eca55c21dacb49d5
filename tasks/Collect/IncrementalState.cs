using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>What an incremental item knew about one file at its last collect.</summary>
public readonly record struct FileState(long Size, long MtimeSeconds, long MtimeNanos, long CtimeSeconds, long CtimeNanos,
    ulong Inode, byte[] Sha256)
{
    public static FileState From(in PosixStat s, byte[] sha256) =>
        new(s.Size, s.MtimeSeconds, s.MtimeNanos, s.CtimeSeconds, s.CtimeNanos, s.Inode, sha256);

    /// <summary>Unchanged stat data: the file is trusted without reading it (git's rule).</summary>
    public bool SameStat(in PosixStat s) =>
        Size == s.Size && MtimeSeconds == s.MtimeSeconds && MtimeNanos == s.MtimeNanos &&
        CtimeSeconds == s.CtimeSeconds && CtimeNanos == s.CtimeNanos && Inode == s.Inode;

    public bool Same(in FileState o) =>
        Size == o.Size && MtimeSeconds == o.MtimeSeconds && MtimeNanos == o.MtimeNanos && CtimeSeconds == o.CtimeSeconds &&
        CtimeNanos == o.CtimeNanos && Inode == o.Inode && Sha256.AsSpan().SequenceEqual(o.Sha256);
}

/// <summary>
/// The incremental state of one collect item (Cedar keeps a pickled SHA-1 digest; this is our own
/// format): every file present at the last collect with its stat data and SHA-256, by the exact bytes
/// of its path, in <see cref="WalkOrder"/> so a collect reads it alongside the walk instead of holding
/// it in memory. Entries a walk gave out of that order (targets of dereferenced links) are kept in a
/// short separate list. The file ends with a SHA-256 of its contents, checked before anything in it
/// is trusted: a damaged state is treated as absent (everything is archived again) instead of
/// silently skipping files.
///
/// Layout (version 2): "BKPSTATE", int32 version, day (length-prefixed UTF-8), the ordered records,
/// a zero length, the out-of-order records, a zero length, int64 offset of those, int64 count of
/// each list, then the SHA-256 of everything before it. A record is a 7-bit-encoded path length,
/// the path bytes, size, mtime s/ns, ctime s/ns, inode and the file's SHA-256.
/// </summary>
public static class IncrementalState
{
    internal static readonly byte[] Magic = "BKPSTATE"u8.ToArray();
    internal const int Version = 2;
    private const int TrailerSize = 3 * 8 + 32;

    public enum LoadResult { Loaded, Missing, Damaged }

    /// <summary>Checks a state file and opens it for reading in walk order. A missing or damaged file reads as empty.</summary>
    public static StateReader Open(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan); }
        catch (FileNotFoundException) { return StateReader.Empty(path, LoadResult.Missing); }
        catch (DirectoryNotFoundException) { return StateReader.Empty(path, LoadResult.Missing); }
        try
        {
            var reader = OpenChecked(path, stream);
            if (reader != null) return reader;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or ArgumentOutOfRangeException)
        {
        }
        stream.Dispose();
        return StateReader.Empty(path, LoadResult.Damaged);
    }

    private static StateReader? OpenChecked(string path, FileStream stream)
    {
        var length = stream.Length;
        if (length < Magic.Length + 4 + 1 + 32) return null;
        // The whole file is hashed before any record is believed.
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[1 << 20];
            long left = length - 32;
            while (left > 0)
            {
                var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0) return null;
                sha.AppendData(buffer, 0, n);
                left -= n;
            }
            var expected = new byte[32];
            stream.ReadExactly(expected);
            if (!sha.GetHashAndReset().AsSpan().SequenceEqual(expected)) return null;
        }
        stream.Position = 0;
        var header = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (!header.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) return null;
        var version = header.ReadInt32();
        if (version == 1) return ReadVersion1(path, stream, length);
        if (version != Version) return null;
        var day = header.ReadString();
        var bodyStart = stream.Position;

        stream.Position = length - TrailerSize;
        var extrasOffset = header.ReadInt64();
        var count = header.ReadInt64();
        var extrasCount = header.ReadInt64();
        if (extrasOffset < bodyStart || extrasOffset > length - TrailerSize || count < 0 || extrasCount < 0) return null;
        stream.Position = extrasOffset;
        var extras = new Dictionary<string, FileState>(StringComparer.Ordinal);
        for (long i = 0; i < extrasCount; i++)
        {
            var (key, state) = ReadRecord(header) ?? throw new InvalidDataException();
            extras[PosixPath.Decode(key)] = state;
        }
        stream.Position = bodyStart;
        return new StateReader(path, LoadResult.Loaded, day, ReadRecords(header), extras, count + extrasCount, stream);
    }

    private static IEnumerable<(byte[] Key, FileState State)> ReadRecords(BinaryReader reader)
    {
        while (ReadRecord(reader) is { } record) yield return record;
    }

    private static (byte[] Key, FileState State)? ReadRecord(BinaryReader r)
    {
        var length = r.Read7BitEncodedInt();
        if (length == 0) return null;
        if (length < 0 || length > 1 << 16) throw new InvalidDataException();
        var key = r.ReadBytes(length);
        var state = new FileState(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadUInt64(), r.ReadBytes(32));
        if (key.Length != length || state.Sha256.Length != 32) throw new EndOfStreamException();
        return (key, state);
    }

    /// <summary>The first format (before names were kept as bytes): a dictionary sorted by UTF-16 text, read whole and re-sorted.</summary>
    private static StateReader? ReadVersion1(string path, FileStream stream, long length)
    {
        var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        var day = reader.ReadString();
        var count = reader.ReadInt64();
        var records = new List<(byte[] Key, FileState State)>();
        for (long i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            records.Add((PosixPath.Encode(name), new FileState(reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(),
                reader.ReadInt64(), reader.ReadInt64(), reader.ReadUInt64(), reader.ReadBytes(32))));
        }
        if (stream.Position != length - 32) return null;
        stream.Dispose();
        records.Sort((a, b) => WalkOrder.Compare(a.Key, b.Key));
        return new StateReader(path, LoadResult.Loaded, day, records, new Dictionary<string, FileState>(StringComparer.Ordinal), records.Count);
    }

    /// <summary>Writes a whole state (tests, and copies): records in any order.</summary>
    public static void Save(string path, string day, IEnumerable<KeyValuePair<string, FileState>> state)
    {
        using var writer = new StateWriter(path, day);
        foreach (var (name, f) in state.Select(e => (Key: PosixPath.Encode(e.Key), e.Value)).OrderBy(e => e.Key, WalkOrderComparer.Instance))
            writer.Add(name, f);
        writer.Commit();
    }

    /// <summary>Reads a whole state into memory (tests and small tools).</summary>
    public static LoadResult TryLoad(string path, out string day, out Dictionary<string, FileState> state)
    {
        using var reader = Open(path);
        day = reader.Day;
        state = new Dictionary<string, FileState>(StringComparer.Ordinal);
        foreach (var (key, f) in reader.All()) state[PosixPath.Decode(key)] = f;
        return reader.Result;
    }

    internal static void WriteRecord(BinaryWriter w, byte[] key, in FileState f)
    {
        w.Write7BitEncodedInt(key.Length);
        w.Write(key);
        w.Write(f.Size); w.Write(f.MtimeSeconds); w.Write(f.MtimeNanos);
        w.Write(f.CtimeSeconds); w.Write(f.CtimeNanos); w.Write(f.Inode);
        w.Write(f.Sha256);
    }

    internal sealed class WalkOrderComparer : IComparer<byte[]>
    {
        public static readonly WalkOrderComparer Instance = new();
        public int Compare(byte[]? a, byte[]? b) => WalkOrder.Compare(a, b);
    }
}

/// <summary>
/// A state read alongside a walk: <see cref="TryFind"/> is asked for paths in walk order and moves
/// forward through the file; a path asked for out of that order is looked up among the out-of-order
/// records only (a miss only means the file is read and archived again).
/// </summary>
public sealed class StateReader : IDisposable
{
    private readonly IEnumerator<(byte[] Key, FileState State)> _records;
    private readonly Dictionary<string, FileState> _extras;
    private (byte[] Key, FileState State)? _current;
    private bool _started, _finished;
    private byte[]? _lastAsked;
    private readonly IDisposable? _owner;

    internal StateReader(string path, IncrementalState.LoadResult result, string day,
        IEnumerable<(byte[] Key, FileState State)> records, Dictionary<string, FileState> extras, long count, IDisposable? owner = null)
    {
        _owner = owner;
        Path = path;
        Result = result;
        Day = day;
        _records = records.GetEnumerator();
        _extras = extras;
        Count = count;
    }

    internal static StateReader Empty(string path, IncrementalState.LoadResult result) =>
        new(path, result, "", Array.Empty<(byte[], FileState)>(), new Dictionary<string, FileState>(StringComparer.Ordinal), 0);

    public string Path { get; }
    public IncrementalState.LoadResult Result { get; }
    /// <summary>The run day the state was written on; empty when missing or damaged.</summary>
    public string Day { get; }
    /// <summary>How many files the state holds.</summary>
    public long Count { get; }

    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryFind(byte[] key, out FileState state)
    {
        FoundAt = -1;
        if (_extras.Count > 0 && _extras.TryGetValue(PosixPath.Decode(key), out state)) return true;
        if (_lastAsked != null && WalkOrder.Compare(key, _lastAsked) < 0)
        {
            state = default;
            return false;
        }
        _lastAsked = key;
        if (!_started) { _started = true; Advance(); }
        while (_current is { } c)
        {
            var order = WalkOrder.Compare(c.Key, key);
            if (order == 0) { state = c.State; FoundAt = _index; return true; }
            if (order > 0) break;
            Advance();
        }
        state = default;
        return false;
    }

    /// <summary>Every record (ordered ones, then the others), from the start; only on a reader not yet searched.</summary>
    public IEnumerable<(byte[] Key, FileState State)> All()
    {
        if (_started) throw new InvalidOperationException("the state was already read");
        _started = true;
        while (_records.MoveNext()) yield return _records.Current;
        foreach (var (name, f) in _extras) yield return (PosixPath.Encode(name), f);
    }

    /// <summary>
    /// Where the last successful <see cref="TryFind"/> found its record among the ordered ones (0 for the first);
    /// -1 when it found none there (an out-of-order record, or nothing).
    /// </summary>
    public long FoundAt { get; private set; } = -1;

    private long _index = -1;

    private void Advance()
    {
        _index++;
        if (!_finished && _records.MoveNext()) _current = _records.Current;
        else { _finished = true; _current = null; }
    }

    public void Dispose()
    {
        _records.Dispose();
        _owner?.Dispose();
    }
}

/// <summary>Writes a state file under a temporary name; <see cref="Commit"/> puts it in place.</summary>
public sealed class StateWriter : IDisposable
{
    private readonly string _path;
    private readonly string _temp;
    private readonly FileStream _stream;
    private readonly BinaryWriter _writer;
    private readonly List<(byte[] Key, FileState State)> _extras = new();
    private byte[]? _last;
    private bool _done;

    public StateWriter(string path, string day)
    {
        _path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _temp = AtomicFile.TempPathFor(path);
        _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = new BinaryWriter(_stream, Encoding.UTF8, leaveOpen: true);
        _writer.Write(IncrementalState.Magic);
        _writer.Write(IncrementalState.Version);
        _writer.Write(day);
    }

    public long Count { get; private set; }

    /// <summary>Adds a file; one that comes out of walk order goes to the out-of-order list.</summary>
    public void Add(byte[] key, in FileState state)
    {
        Count++;
        if (_last != null && WalkOrder.Compare(key, _last) <= 0)
        {
            _extras.Add((key, state));
            return;
        }
        _last = key;
        IncrementalState.WriteRecord(_writer, key, state);
    }

    /// <summary>Finishes the file (checksum, flush to disk) and renames it over the state.</summary>
    public void Commit()
    {
        _writer.Write7BitEncodedInt(0);
        var extrasOffset = _stream.Position;
        foreach (var (key, state) in _extras) IncrementalState.WriteRecord(_writer, key, state);
        _writer.Write7BitEncodedInt(0);
        _writer.Write(extrasOffset);
        _writer.Write(Count - _extras.Count);
        _writer.Write((long)_extras.Count);
        _writer.Flush();
        _stream.Position = 0;
        var sha = SHA256.HashData(_stream);
        _stream.Write(sha);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _done = true;
    }

    /// <summary>Drops the temporary file unless it was committed.</summary>
    public void Dispose()
    {
        _stream.Dispose();
        if (!_done)
        {
            try { File.Delete(_temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            _done = true;
        }
    }
}
