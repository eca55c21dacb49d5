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
    private readonly ZstdSettings settings = ZstdLevels.For(level);

    public void Compress(byte[] input, int count, Stream output)
    {
        var room = ChunkOutput.Reserve(output, Compressor.GetCompressBound(count));
        using var compressor = new Compressor(settings.Level);
        if (settings.WindowLog != 0) compressor.SetParameter(ZSTD_cParameter.ZSTD_c_windowLog, settings.WindowLog);
        compressor.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        ChunkOutput.Advance(output, room.Length, compressor.Wrap(input.AsSpan(0, count), room));
    }
}

/// <summary>A zstd level and the window it compresses with (0: the level's own).</summary>
internal readonly record struct ZstdSettings(int Level, int WindowLog = 0);

/// <summary>What CompressionLevel means for zstd.</summary>
internal static class ZstdLevels
{
    /// <summary>
    /// Optimal's window: 8 MiB instead of level 3's own 2 MiB. Each 16 MiB frame then finds matches up to half a frame
    /// back with match tables of the same size, and the archive comes out smaller than `zstd -3 -T0`'s on every tree
    /// measured (bench/zstd-params.sh): the bench tree -5.6% (and 15% less CPU time: repeats found far back are
    /// cheap), 768 MiB of /usr/share -2.9% (same time), of /usr/bin and /usr/lib -0.6%, /usr/include and Python's
    /// library -1.6% (both about 10% more time). Smaller match tables that win the time back lose the size on
    /// binaries (+0.4 to +1.4%). Decompressing needs an 8 MiB window (zstd and libarchive accept 128 MiB by default).
    /// </summary>
    public const int OptimalWindowLog = 23;

    // Fastest is zstd -1, Optimal zstd's own default -3 with a larger window, SmallestSize -19 (the highest level
    // zstd offers without --ultra, whose larger windows need more memory to decompress; its window is 8 MiB too).
    public static ZstdSettings For(CompressionLevel level) => level switch
    {
        CompressionLevel.Fastest or CompressionLevel.NoCompression => new(1),
        CompressionLevel.SmallestSize => new(19),
        _ => new(3, OptimalWindowLog),
    };
}
