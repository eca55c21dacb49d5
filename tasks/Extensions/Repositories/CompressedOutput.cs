using System.IO.Compression;
using BackupBuild.Tasks.Collect.Archive;

namespace BackupBuild.Tasks.Extensions.Repositories;

/// <summary>
/// A write-only stream that compresses what it is given with Collect's gzip or bzip2 compressors
/// (one gzip member or bzip2 stream per chunk; gunzip and bunzip2 read the concatenation as one
/// file), or passes it through for "none".
/// </summary>
internal sealed class CompressedOutput : Stream
{
    private readonly Stream output;
    private readonly IChunkCompressor? compressor;
    private readonly byte[] buffer;
    private readonly MemoryStream compressed = new();
    private int filled;
    private bool emitted;

    public CompressedOutput(Stream output, DumpCompression compression)
    {
        this.output = output;
        compressor = compression switch
        {
            DumpCompression.Gzip => ChunkCompressors.For(ArchiveFormat.TarGz, CompressionLevel.SmallestSize),
            DumpCompression.Bzip2 => ChunkCompressors.For(ArchiveFormat.TarBz2, CompressionLevel.SmallestSize),
            _ => null,
        };
        buffer = new byte[compression == DumpCompression.Bzip2 ? ChunkSizes.Bzip2 : ChunkSizes.Gzip];
    }

    public override void Write(byte[] data, int offset, int count) => Write(data.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        if (compressor == null)
        {
            output.Write(data);
            return;
        }
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, buffer.Length - filled);
            data[..n].CopyTo(buffer.AsSpan(filled));
            filled += n;
            data = data[n..];
            if (filled == buffer.Length) Emit();
        }
    }

    /// <summary>Compresses what is buffered; an empty input still gives a valid (empty) compressed file.</summary>
    public void Complete()
    {
        if (compressor != null && (filled > 0 || !emitted)) Emit();
        output.Flush();
    }

    private void Emit()
    {
        // The compressors write into a MemoryStream (the pipeline's contract).
        compressed.SetLength(0);
        compressor!.Compress(buffer, filled, compressed);
        compressed.Position = 0;
        emitted = true;
        compressed.CopyTo(output);
        filled = 0;
    }

    public override void Flush() { }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] b, int o, int c) => throw new NotSupportedException();
    public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
    public override void SetLength(long v) => throw new NotSupportedException();
}
