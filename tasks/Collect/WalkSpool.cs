using System.Runtime.InteropServices;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The walk ComputeCollectStamp did, written to a file as it went, so that Collect, which runs right
/// after in the same build, reads the entries back in order instead of walking the tree a second
/// time, and neither task holds a million entries in memory. Each job's entries (a 7-bit-encoded
/// path length, the path bytes, the lstat) end with a zero length.
///
/// The file is removed from its folder as soon as it is created and lives on only as the open stream
/// handed from one task to the other: it cannot be left behind, and two builds at once (the second
/// waits for the first's lock in Collect) never read each other's spool.
/// </summary>
public sealed class WalkSpoolWriter : IDisposable
{
    private FileStream? _stream;
    private BinaryWriter? _writer;

    /// <summary>Starts a spool in <paramref name="folder"/>; if it cannot be written (a full disk), it is dropped and Collect walks again.</summary>
    public WalkSpoolWriter(string folder)
    {
        try
        {
            var path = Path.Combine(folder, ".collect-walk-" + Guid.NewGuid().ToString("N"));
            _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
            File.Delete(path);
            _writer = new BinaryWriter(_stream, System.Text.Encoding.UTF8, leaveOpen: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Drop();
        }
    }

    public void Add(in WalkEntry e)
    {
        if (_writer == null) return;
        try
        {
            _writer.Write7BitEncodedInt(e.PathBytes.Length);
            _writer.Write(e.PathBytes);
            var stat = e.Stat;
            _writer.Write(MemoryMarshal.AsBytes(new ReadOnlySpan<PosixStat>(in stat)));
        }
        catch (IOException)
        {
            Drop();
        }
    }

    public void EndJob()
    {
        if (_writer == null) return;
        try { _writer.Write7BitEncodedInt(0); }
        catch (IOException) { Drop(); }
    }

    /// <summary>The finished spool, to be read with <see cref="WalkSpoolReader"/>; null when it could not be written whole.</summary>
    public FileStream? Finish()
    {
        if (_writer == null) return null;
        try
        {
            _writer.Flush();
            _stream!.Flush();
            var done = _stream;
            _writer = null;
            _stream = null;
            return done;
        }
        catch (IOException)
        {
            Drop();
            return null;
        }
    }

    private void Drop()
    {
        try { _stream?.Dispose(); } catch (IOException) { }
        _writer = null;
        _stream = null;
    }

    public void Dispose()
    {
        if (_writer != null) Drop();
    }
}

/// <summary>Reads a <see cref="WalkSpoolWriter"/> file back, one job at a time, in the order written.</summary>
public sealed class WalkSpoolReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly BinaryReader _reader;

    /// <summary>Reads a finished spool from its start; disposing the reader closes (and so frees) it.</summary>
    public WalkSpoolReader(FileStream stream)
    {
        _stream = stream;
        _stream.Position = 0;
        _reader = new BinaryReader(stream);
    }

    /// <summary>The next job's entries.</summary>
    public IEnumerable<WalkEntry> ReadJob()
    {
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<PosixStat>();
        var statBytes = new byte[size];
        while (true)
        {
            var length = _reader.Read7BitEncodedInt();
            if (length == 0) yield break;
            var path = _reader.ReadBytes(length);
            _reader.BaseStream.ReadExactly(statBytes);
            yield return new WalkEntry(path, MemoryMarshal.Read<PosixStat>(statBytes));
        }
    }

    public void Dispose() => _stream.Dispose();
}
