using System.Collections.Concurrent;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete zstd frame (with its content size and checksum), made by the system's libzstd
/// (Debian's libzstd1, which dpkg itself depends on). zstd, GNU tar --zstd, bsdtar and ZstdSharp read
/// concatenated frames as one stream. Measured by bench/zstd-libs.sh against ZstdSharp.Port and ZstdNet;
/// <see cref="ManagedZstdCompressor"/> remains for systems without the library.
/// </summary>
internal sealed unsafe class NativeZstdCompressor : IChunkCompressor, IDisposable
{
    // ZSTD_cParameter values from zstd.h (stable API).
    private const int CompressionLevelParameter = 100;
    private const int WindowLogParameter = 101;
    private const int ChecksumFlagParameter = 201;
    private const int ResetSessionAndParameters = 3; // ZSTD_reset_session_and_parameters

    private static readonly Api? Native = Load();

    private readonly ZstdSettings settings;

    // Contexts are reused from chunk to chunk (one per worker at a time): a new context per 16 MiB frame cost
    // 3-5% of the compression's CPU time in page faults and table clearing. Freed by Dispose (the pipeline's).
    private readonly ConcurrentBag<nint> contexts = [];
    private int disposed;

    public NativeZstdCompressor(CompressionLevel level) => settings = ZstdLevels.For(level);

    public static bool IsAvailable => Native != null;

    public void Compress(byte[] input, int count, Stream output)
    {
        var api = Native!;
        var room = ChunkOutput.Reserve(output, checked((int)api.CompressBound((nuint)count)));
        if (!contexts.TryTake(out var context))
        {
            context = api.CreateCCtx();
            if (context == 0) throw new OutOfMemoryException("ZSTD_createCCtx");
        }
        var keep = false;
        try
        {
            Check(api.Reset(context, ResetSessionAndParameters), "ZSTD_CCtx_reset");
            Check(api.SetParameter(context, CompressionLevelParameter, settings.Level), "ZSTD_CCtx_setParameter");
            if (settings.WindowLog != 0)
                Check(api.SetParameter(context, WindowLogParameter, settings.WindowLog), "ZSTD_CCtx_setParameter");
            Check(api.SetParameter(context, ChecksumFlagParameter, 1), "ZSTD_CCtx_setParameter");
            nuint written;
            fixed (byte* source = input)
            fixed (byte* dest = room)
                written = api.Compress2(context, dest, (nuint)room.Length, source, (nuint)count);
            Check(written, "ZSTD_compress2");
            ChunkOutput.Advance(output, room.Length, (int)written);
            keep = Volatile.Read(ref disposed) == 0;
        }
        finally
        {
            if (keep) contexts.Add(context);
            else api.FreeCCtx(context);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        while (contexts.TryTake(out var context)) Native!.FreeCCtx(context);
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
        public delegate* unmanaged<nint, int, nuint> Reset;
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
            var functions = new[] { "ZSTD_createCCtx", "ZSTD_freeCCtx", "ZSTD_CCtx_reset", "ZSTD_CCtx_setParameter", "ZSTD_compress2",
                "ZSTD_compressBound", "ZSTD_isError", "ZSTD_getErrorName" }.Select(F).ToArray();
            if (functions.Any(f => f == 0)) continue;
            return new Api
            {
                CreateCCtx = (delegate* unmanaged<nint>)functions[0],
                FreeCCtx = (delegate* unmanaged<nint, nuint>)functions[1],
                Reset = (delegate* unmanaged<nint, int, nuint>)functions[2],
                SetParameter = (delegate* unmanaged<nint, int, int, nuint>)functions[3],
                Compress2 = (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, nuint>)functions[4],
                CompressBound = (delegate* unmanaged<nuint, nuint>)functions[5],
                IsError = (delegate* unmanaged<nuint, uint>)functions[6],
                GetErrorName = (delegate* unmanaged<nuint, nint>)functions[7],
            };
        }
        return null;
    }
}
