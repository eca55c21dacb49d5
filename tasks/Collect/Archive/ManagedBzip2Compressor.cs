using System.IO.Compression;
using ICSharpCode.SharpZipLib.BZip2;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete bzip2 stream, made by SharpZipLib's managed encoder: the fallback where the
/// system has no libbz2 for <see cref="NativeBzip2Compressor"/>. bzip2, GNU tar (through bzip2), bsdtar
/// and Python's bz2 module read concatenated streams as one.
/// </summary>
internal sealed class ManagedBzip2Compressor(int blockSize) : IChunkCompressor
{
    public ManagedBzip2Compressor(CompressionLevel level) : this(BlockSizeFor(level)) { }

    // bzip2's "level" is its block size in 100 kB. Python's tarfile and the bzip2 program default to 9,
    // which is usually the best ratio, and bzip2 is hardly faster with small blocks: Fastest and Optimal are
    // both 9. Small blocks do win on some data (JSON-like listings, by about 2%), so SmallestSize keeps the
    // smaller of 9 and 1 chunk by chunk (see ChunkCompressors).
    public static int BlockSizeFor(CompressionLevel level) => level is CompressionLevel.NoCompression ? 1 : 9;

    public void Compress(byte[] input, int count, Stream output)
    {
        using var bzip2 = new BZip2OutputStream(output, blockSize) { IsStreamOwner = false };
        bzip2.Write(input, 0, count);
    }
}
