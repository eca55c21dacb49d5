using System.IO.Compression;
using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete bzip2 stream, made by the system's libbz2 (the library of the bzip2
/// program itself, which dpkg and Python depend on, so it is present wherever Cedar Backup runs).
/// It is about twice as fast as the managed SharpZipLib encoder and allocates nothing managed;
/// <see cref="ManagedBzip2Compressor"/> remains for systems without it.
/// </summary>
internal sealed unsafe class NativeBzip2Compressor : IChunkCompressor
{
    private const int Ok = 0;

    // Upper bound from bzlib's documentation for BZ2_bzBuffToBuffCompress: 1% more plus 600 bytes.
    private static int MaxOutput(int input) => input + input / 100 + 600;

    // int BZ2_bzBuffToBuffCompress(char* dest, unsigned* destLen, char* source, unsigned sourceLen,
    //                              int blockSize100k, int verbosity, int workFactor)
    private static readonly delegate* unmanaged<byte*, uint*, byte*, uint, int, int, int, int> BuffToBuffCompress = Load();

    private readonly int blockSize;

    public NativeBzip2Compressor(CompressionLevel level) : this(ManagedBzip2Compressor.BlockSizeFor(level)) { }

    public NativeBzip2Compressor(int blockSize) => this.blockSize = blockSize;

    public static bool IsAvailable => BuffToBuffCompress != null;

    public void Compress(byte[] input, int count, Stream output)
    {
        var room = ChunkOutput.Reserve(output, MaxOutput(count));
        var written = (uint)room.Length;
        int rc;
        fixed (byte* source = input)
        fixed (byte* dest = room)
            rc = BuffToBuffCompress(dest, &written, source, (uint)count, blockSize, 0, 0);
        if (rc != Ok) throw new IOException($"BZ2_bzBuffToBuffCompress: {rc}");
        ChunkOutput.Advance(output, room.Length, (int)written);
    }

    private static delegate* unmanaged<byte*, uint*, byte*, uint, int, int, int, int> Load()
    {
        foreach (var name in new[] { "libbz2.so.1.0", "libbz2.so.1", "libbz2.so" })
            if (NativeLibrary.TryLoad(name, out var library)
                && NativeLibrary.TryGetExport(library, "BZ2_bzBuffToBuffCompress", out var function))
                return (delegate* unmanaged<byte*, uint*, byte*, uint, int, int, int, int>)function;
        return null;
    }
}
