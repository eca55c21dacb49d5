using System.Security.Cryptography;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Copies a file's content into the tar stream as exactly the size its header announced: a file read
/// while it changes may deliver fewer or more bytes than stat said, and the header cannot be changed
/// any more. Reads go straight into the chunk buffers, as much as fits in one call.
/// </summary>
internal sealed class EntryContent(ChunkFiller tar, Stream content, IncrementalHash? hash, CancellationToken cancel)
{
    /// <summary>Set when reading the content threw: the entry then lacks <see cref="Remaining"/> bytes.</summary>
    public bool ReadFailed { get; private set; }

    /// <summary>Announced bytes not yet written to the entry.</summary>
    public long Remaining { get; private set; }

    public FileAddResult Copy(long size)
    {
        Remaining = size;
        while (Remaining > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var span = tar.GetSpan();
            if (span.Length > Remaining) span = span[..(int)Remaining];
            var n = Read(span);
            if (n == 0)
            {
                tar.WriteZeros(Remaining);
                Remaining = 0;
                return FileAddResult.Shrank;
            }
            hash?.AppendData(span[..n]);
            tar.Advance(n);
            Remaining -= n;
        }
        // One more byte tells whether the file kept going; it is not stored and not hashed.
        Span<byte> probe = stackalloc byte[1];
        return Read(probe) > 0 ? FileAddResult.Grew : FileAddResult.Complete;
    }

    private int Read(Span<byte> buffer)
    {
        try
        {
            return content.Read(buffer);
        }
        catch
        {
            ReadFailed = true;
            throw;
        }
    }
}
