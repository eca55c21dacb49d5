using System.IO.Compression;
using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete zstd frame (with its content size and checksum), made by the system's libzstd
/// (Debian's libzstd1, which dpkg itself depends on). zstd, GNU tar --zstd, bsdtar and ZstdSharp read
/// concatenated frames as one stream. Measured by bench/zstd-libs.sh against ZstdSharp.Port and ZstdNet;
/// <see cref="ManagedZstdCompressor"/> remains for systems without the library.
/// </summary>
internal sealed unsafe class NativeZstdCompressor : IChunkCompressor
{
    // ZSTD_cParameter values from zstd.h (stable API).
    private const int CompressionLevelParameter = 100;
    private const int ChecksumFlagParameter = 201;

    private static readonly Api? Native = Load();

    private readonly int level;

    public NativeZstdCompressor(CompressionLevel level) => this.level = ZstdLevels.For(level);

    public static bool IsAvailable => Native != null;

    public void Compress(byte[] input, int count, Stream output)
    {
        var api = Native!;
        var room = ChunkOutput.Reserve(output, checked((int)api.CompressBound((nuint)count)));
        // A context per call keeps the compressor stateless (workers share it) and frees its tables at once;
        // setting them up costs well under 1% of compressing a chunk.
        var context = api.CreateCCtx();
        if (context == 0) throw new OutOfMemoryException("ZSTD_createCCtx");
        try
        {
            Check(api.SetParameter(context, CompressionLevelParameter, level), "ZSTD_CCtx_setParameter");
            Check(api.SetParameter(context, ChecksumFlagParameter, 1), "ZSTD_CCtx_setParameter");
            nuint written;
            fixed (byte* source = input)
            fixed (byte* dest = room)
                written = api.Compress2(context, dest, (nuint)room.Length, source, (nuint)count);
            Check(written, "ZSTD_compress2");
            ChunkOutput.Advance(output, room.Length, (int)written);
        }
        finally
        {
            api.FreeCCtx(context);
        }
    }

    private static void Check(nuint rc, string function)
    {
        if (Native!.IsError(rc) != 0)
            throw new IOException(function + ": " + Marshal.PtrToStringUTF8(Native.GetErrorName(rc)));
    }

    private sealed class Api
    {
        public delegate* unmanaged<nint> CreateCCtx;
        public delegate* unmanaged<nint, nuint> FreeCCtx;
        public delegate* unmanaged<nint, int, int, nuint> SetParameter;
        public delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nuint> Compress2;
        public delegate* unmanaged<nuint, nuint> CompressBound;
        public delegate* unmanaged<nuint, uint> IsError;
        public delegate* unmanaged<nuint, nint> GetErrorName;
    }

    private static Api? Load()
    {
        foreach (var name in new[] { "libzstd.so.1", "libzstd.so" })
        {
            if (!NativeLibrary.TryLoad(name, out var library)) continue;
            nint F(string export) => NativeLibrary.TryGetExport(library, export, out var f) ? f : 0;
            var functions = new[] { "ZSTD_createCCtx", "ZSTD_freeCCtx", "ZSTD_CCtx_setParameter", "ZSTD_compress2", "ZSTD_compressBound",
                "ZSTD_isError", "ZSTD_getErrorName" }.Select(F).ToArray();
            if (functions.Any(f => f == 0)) continue;
            return new Api
            {
                CreateCCtx = (delegate* unmanaged<nint>)functions[0],
                FreeCCtx = (delegate* unmanaged<nint, nuint>)functions[1],
                SetParameter = (delegate* unmanaged<nint, int, int, nuint>)functions[2],
                Compress2 = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nuint>)functions[3],
                CompressBound = (delegate* unmanaged<nuint, nuint>)functions[4],
                IsError = (delegate* unmanaged<nuint, uint>)functions[5],
                GetErrorName = (delegate* unmanaged<nuint, nint>)functions[6],
            };
        }
        return null;
    }
}
