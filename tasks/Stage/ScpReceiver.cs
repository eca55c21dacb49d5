using System.Globalization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

/// <summary>
/// The receiving end of the scp protocol (what `scp -t` is to `scp -f`), for Stage's copy over the peer's SSH.NET
/// connection: the peer runs `scp -p -f DIR/*` (a command its forced-command gate allows) and sends, for each file, a
/// time record `T<mtime> 0 <atime> 0`, a file record `C<mode> <size> <name>`, the bytes and a status byte; this side
/// answers each record with a zero byte. The sender is the untrusted peer, so every record is checked before it is
/// acted on: records no longer than 1 KiB; only T, C and the sender's error records (a folder record, or any other,
/// ends the copy); a name that is one file name the listing named as a regular file, not received before, at exactly the
/// size the listing gave. Each file is created new (never through a link, never over an existing name) with mode 0600
/// beneath the open temporary folder, gets exactly the announced bytes and the peer's time; once the peer is done,
/// <see cref="FlushToDisk"/> makes every received file durable (fsync), outside the conversation, so that a slow disk
/// is never mistaken for a silent peer.
/// </summary>
public sealed class ScpReceiver
{
    private const int MaxRecord = 1024;
    private const int Chunk = 256 * 1024;

    private readonly DirectoryHandle _folder;
    private readonly Dictionary<string, RemoteEntry> _listed;
    private readonly HashSet<string> _received = new(StringComparer.Ordinal);
    private readonly List<byte[]> _written = new();
    private readonly CancellationToken _cancel;

    public ScpReceiver(DirectoryHandle folder, IEnumerable<RemoteEntry> listed, CancellationToken cancel)
    {
        _folder = folder;
        _listed = listed.Where(e => e.Type == 'f').ToDictionary(e => e.Name, StringComparer.Ordinal);
        _cancel = cancel;
    }

    /// <summary>Files and bytes received so far.</summary>
    public int Files { get; private set; }
    public long Bytes { get; private set; }

    /// <summary>Why the copy failed (the peer's scp error, a broken record, a write that failed here), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>A file the peer sent that the listing did not name as such (name, reason), or null.</summary>
    public RemoteCopyCheck.Finding? Unexpected { get; private set; }

    /// <summary>Whether a write into the staging folder failed (the caller tells a full disk apart).</summary>
    public bool LocalWriteFailed { get; private set; }

    /// <summary>Runs the protocol to its end; true when the peer ended it after whole files, false when it was abandoned.</summary>
    public bool Receive(Stream toPeer, Stream fromPeer, Action alive)
    {
        var input = new BufferedStream(fromPeer, 64 * 1024);
        var buffer = new byte[Chunk];
        long mtime = -1;
        try
        {
            Answer(toPeer);
            while (true)
            {
                _cancel.ThrowIfCancellationRequested();
                var first = input.ReadByte();
                if (first < 0) return true; // the sender is done (what arrived is checked against the listing by the caller)
                alive();
                var record = ReadRecord(input);
                if (record == null) return Fail("the peer's scp sent a record longer than 1 KiB or cut short");
                switch (first)
                {
                    case 1 or 2:
                        return Fail("the peer's scp: " + PosixPath.Display(PosixPath.Decode(record)));
                    case 'T':
                        if (!ParseTime(record, out mtime)) return Fail("the peer's scp sent a broken time record");
                        Answer(toPeer);
                        break;
                    case 'C':
                        if (!ParseFile(record, out var size, out var nameBytes)) return Fail("the peer's scp sent a broken file record");
                        var name = PosixPath.Decode(nameBytes);
                        var why = Refuse(name, nameBytes, size);
                        if (why != null)
                        {
                            Unexpected = new RemoteCopyCheck.Finding(PosixPath.Display(name), why);
                            return false;
                        }
                        _received.Add(name);
                        Answer(toPeer);
                        if (!ReceiveFile(input, nameBytes, name, size, mtime >= 0 ? mtime : _listed[name].MtimeSeconds, buffer, alive)) return false;
                        var status = input.ReadByte();
                        if (status != 0)
                        {
                            var message = status is 1 or 2 ? ReadRecord(input) : null;
                            return Fail(message != null ? "the peer's scp: " + PosixPath.Display(PosixPath.Decode(message))
                                : "the peer's scp ended a file without its status byte");
                        }
                        Answer(toPeer);
                        Files++;
                        Bytes += size;
                        mtime = -1;
                        break;
                    case 'D' or 'E':
                        var fields = PosixPath.Decode(record).Split(' ', 3);
                        Unexpected = new RemoteCopyCheck.Finding(PosixPath.Display(fields[^1]), "is a folder");
                        return false;
                    default:
                        return Fail("the peer did not answer with the scp protocol");
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The stream from or to the peer ended (dropped, stopped): the caller names it from the connection.
            return Fail("the copy ended part way: " + e.Message);
        }
    }

    private bool Fail(string why)
    {
        Failure ??= why;
        return false;
    }

    private string? Refuse(string name, byte[] nameBytes, long size)
    {
        if (nameBytes.Length == 0 || nameBytes.Length > 255 || nameBytes.AsSpan().IndexOf((byte)'/') >= 0 ||
            nameBytes.AsSpan().IndexOf((byte)0) >= 0 || name is "." or "..")
            return "is not one file name";
        if (!_listed.TryGetValue(name, out var listed)) return "was not in the peer's listing as a regular file";
        if (_received.Contains(name)) return "was sent twice";
        if (size != listed.Size) return $"has {size} bytes where the listing said {listed.Size}";
        return null;
    }

    private bool ReceiveFile(Stream input, byte[] nameBytes, string name, long size, long mtime, byte[] buffer, Action alive)
    {
        using var file = _folder.CreateNew(nameBytes, StagedFiles.Mode, out var errno);
        if (file == null)
        {
            LocalWriteFailed = true;
            return Fail($"cannot create {PosixPath.Display(name)}: {Posix.ErrorText(errno)}");
        }
        _written.Add(nameBytes);
        using var output = new FileStream(file, FileAccess.Write, bufferSize: 1);
        var left = size;
        while (left > 0)
        {
            _cancel.ThrowIfCancellationRequested();
            var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read <= 0) return Fail($"the copy of {PosixPath.Display(name)} ended after {size - left} of {size} bytes");
            alive();
            if (!Write(output, buffer, read, name)) return false;
            left -= read;
        }
        if (!Posix.FSetTimes(file, mtime, 0, out errno))
        {
            LocalWriteFailed = true;
            return Fail($"cannot set the time of {PosixPath.Display(name)}: {Posix.ErrorText(errno)}");
        }
        return true;
    }

    /// <summary>
    /// Flushes every received file to disk (fsync, each opened again beneath the folder without following a link), or
    /// says why not: nothing is marked staged before its data is durable.
    /// </summary>
    public bool FlushToDisk(out string? error)
    {
        error = null;
        if (_folder.FlushToDisk(_written, out var failed, out var errno)) return true;
        LocalWriteFailed = true;
        error = $"cannot flush {(failed == null ? "the folder" : PosixPath.Display(PosixPath.Decode(failed)))} to disk: {Posix.ErrorText(errno)}";
        return false;
    }

    private bool Write(FileStream output, byte[] buffer, int count, string name)
    {
        try
        {
            output.Write(buffer, 0, count);
            return true;
        }
        catch (IOException e)
        {
            LocalWriteFailed = true;
            return Fail($"cannot write {PosixPath.Display(name)}: {e.Message}");
        }
    }

    private static void Answer(Stream toPeer)
    {
        toPeer.WriteByte(0);
        toPeer.Flush();
    }

    /// <summary>The rest of a record up to its newline (not included), or null past <see cref="MaxRecord"/> or at the end.</summary>
    private static byte[]? ReadRecord(Stream input)
    {
        var record = new List<byte>(64);
        while (record.Count <= MaxRecord)
        {
            var b = input.ReadByte();
            if (b < 0) return null;
            if (b == '\n') return record.ToArray();
            record.Add((byte)b);
        }
        return null;
    }

    /// <summary>"MTIME 0 ATIME 0" (after the T): whole seconds and microseconds.</summary>
    private static bool ParseTime(byte[] record, out long mtime)
    {
        mtime = -1;
        var parts = System.Text.Encoding.ASCII.GetString(record).Split(' ');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 12 || !p.All(char.IsAsciiDigit))) return false;
        mtime = long.Parse(parts[0], CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>"MODE SIZE NAME" (after the C): four octal digits (ignored: staged files are 0600), a size, the name's bytes.</summary>
    private static bool ParseFile(byte[] record, out long size, out byte[] name)
    {
        size = -1;
        name = Array.Empty<byte>();
        var span = record.AsSpan();
        if (span.Length < 8 || span[4] != (byte)' ') return false;
        foreach (var b in span[..4]) if (b is < (byte)'0' or > (byte)'7') return false;
        span = span[5..];
        var space = span.IndexOf((byte)' ');
        if (space is <= 0 or > 16) return false;
        size = 0;
        foreach (var b in span[..space])
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            size = size * 10 + (b - '0');
        }
        if (size > RemoteListing.MaxFileSize) return false;
        name = span[(space + 1)..].ToArray();
        return name.Length > 0;
    }
}
