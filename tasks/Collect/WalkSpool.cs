using System.Runtime.InteropServices;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The walk ComputeCollectStamp did, written to a file as it went, so that Collect, which runs right
/// after in the same build, reads the entries back in order instead of walking the tree a second
/// time, and neither task holds a million entries in memory. Each job's entries (a 7-bit-encoded
/// path length, the path bytes, the lstat) end with a zero length.
/// </summary>
public sealed class WalkSpoolWriter : IDisposable
{
    private readonly string _path;
    private FileStream? _stream;
    private BinaryWriter? _writer;

    /// <summary>Starts a spool; if the file cannot be written (a full disk), the spool is dropped and Collect walks again.</summary>
    public WalkSpoolWriter(string path)
    {
        _path = path;
        try
        {
            _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            _writer = new BinaryWriter(_stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Drop();
        }
    }

    /// <summary>Whether the spool is still being written (false once dropped).</summary>
    public bool Active => _writer != null;

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

    /// <summary>Closes the spool; false (and nothing left behind) when it could not be written whole.</summary>
    public bool Finish()
    {
        if (_writer == null) return false;
        try
        {
            _writer.Flush();
            _stream!.Dispose();
            _writer = null;
            _stream = null;
            return true;
        }
        catch (IOException)
        {
            Drop();
            return false;
        }
    }

    private void Drop()
    {
        try { _stream?.Dispose(); } catch (IOException) { }
        _writer = null;
        _stream = null;
        Delete(_path);
    }

    public static void Delete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
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

    private WalkSpoolReader(FileStream stream)
    {
        _stream = stream;
        _reader = new BinaryReader(stream);
    }

    public static WalkSpoolReader? Open(string path)
    {
        try
        {
            return new WalkSpoolReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
