using System.IO.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete zstd frame, made by ZstdSharp.Port (a managed port of libzstd): the fallback where
/// the system has no libzstd for <see cref="NativeZstdCompressor"/>. Same frames, same levels.
/// </summary>
internal sealed class ManagedZstdCompressor(CompressionLevel level) : IChunkCompressor
{
    private readonly int zstdLevel = ZstdLevels.For(level);

    public void Compress(byte[] input, int count, Stream output)
    {
        var room = ChunkOutput.Reserve(output, Compressor.GetCompressBound(count));
        using var compressor = new Compressor(zstdLevel);
        compressor.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        ChunkOutput.Advance(output, room.Length, compressor.Wrap(input.AsSpan(0, count), room));
    }
}

/// <summary>What CompressionLevel means for zstd.</summary>
internal static class ZstdLevels
{
    // Fastest is zstd -1, Optimal zstd's own default -3, SmallestSize -19 (the highest level zstd offers
    // without --ultra, whose larger windows need more memory to decompress).
    public static int For(CompressionLevel level) => level switch
    {
        CompressionLevel.Fastest or CompressionLevel.NoCompression => 1,
        CompressionLevel.SmallestSize => 19,
        _ => 3,
    };
}
