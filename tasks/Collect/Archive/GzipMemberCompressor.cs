using System.IO.Compression;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete gzip member. gzip, GNU tar (through gzip), bsdtar and Python's gzip module
/// read concatenated members as a single stream, which is what makes parallel compression possible.
/// The runtime's zlib maps Optimal to level 6 (gzip's default) and SmallestSize to level 9.
/// </summary>
internal sealed class GzipMemberCompressor(CompressionLevel level) : IChunkCompressor
{
    public void Compress(byte[] input, int count, Stream output)
    {
        using var gzip = new GZipStream(output, level, leaveOpen: true);
        gzip.Write(input, 0, count);
    }
}
