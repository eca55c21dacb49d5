using System.Collections.Concurrent;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// One chunk as one complete bzip2 stream, made by the system's libbz2 (the library of the bzip2
/// program itself, which dpkg and Python depend on, so it is present wherever Cedar Backup runs).
/// It is about twice as fast as the managed SharpZipLib encoder;
/// <see cref="ManagedBzip2Compressor"/> remains for systems without it.
/// The stream is made as BZ2_bzBuffToBuffCompress makes it (init, one BZ_FINISH, end: the same bytes), but the
/// library's work memory (about 7.6 MB at 900 kB blocks) comes from a workspace kept from chunk to chunk instead
/// of malloc: allocated afresh for every chunk, each new page faulted in and zeroed by the kernel, it cost about a
/// sixth of the compression's CPU time (the bzip2 program, which compresses its whole input in one stream, never
/// pays it; pbzip2 pays it for every 900 kB block).
/// </summary>
internal sealed unsafe class NativeBzip2Compressor : IChunkCompressor
{
    private const int Ok = 0, Finish = 2, StreamEnd = 4;

    // Upper bound from bzlib's documentation for BZ2_bzBuffToBuffCompress: 1% more plus 600 bytes.
    private static int MaxOutput(int input) => input + input / 100 + 600;

    // bz_stream on LP64: next_in, avail_in, total_in_lo32, total_in_hi32, next_out, avail_out, total_out_lo32,
    // total_out_hi32, state, bzalloc, bzfree, opaque.
    [StructLayout(LayoutKind.Sequential)]
    private struct BzStream
    {
        public byte* NextIn;
        public uint AvailIn, TotalInLo32, TotalInHi32;
        public byte* NextOut;
        public uint AvailOut, TotalOutLo32, TotalOutHi32;
        public void* State;
        public delegate* unmanaged<void*, int, int, void*> Alloc;
        public delegate* unmanaged<void*, void*, void> Free;
        public void* Opaque;
    }

    private static readonly delegate* unmanaged<BzStream*, int, int, int, int> Init;
    private static readonly delegate* unmanaged<BzStream*, int, int> CompressStream;
    private static readonly delegate* unmanaged<BzStream*, int> End;

    static NativeBzip2Compressor()
    {
        foreach (var name in new[] { "libbz2.so.1.0", "libbz2.so.1", "libbz2.so" })
            if (NativeLibrary.TryLoad(name, out var library)
                && NativeLibrary.TryGetExport(library, "BZ2_bzCompressInit", out var init)
                && NativeLibrary.TryGetExport(library, "BZ2_bzCompress", out var compress)
                && NativeLibrary.TryGetExport(library, "BZ2_bzCompressEnd", out var end))
            {
                Init = (delegate* unmanaged<BzStream*, int, int, int, int>)init;
                CompressStream = (delegate* unmanaged<BzStream*, int, int>)compress;
                End = (delegate* unmanaged<BzStream*, int>)end;
                return;
            }
    }

    private readonly int blockSize;

    // Workspaces not in use; one per worker compressing at a time. Their memory is managed (pinned), freed with them.
    private readonly ConcurrentBag<Workspace> idle = [];

    public NativeBzip2Compressor(CompressionLevel level) : this(ManagedBzip2Compressor.BlockSizeFor(level)) { }

    public NativeBzip2Compressor(int blockSize) => this.blockSize = blockSize;

    public static bool IsAvailable => End != null;

    public void Compress(byte[] input, int count, Stream output)
    {
        var room = ChunkOutput.Reserve(output, MaxOutput(count));
        if (!idle.TryTake(out var workspace)) workspace = new Workspace();
        var self = GCHandle.Alloc(workspace);
        int rc, written;
        try
        {
            BzStream stream = default;
            stream.Alloc = &Workspace.Allocate;
            stream.Free = &Workspace.Release;
            stream.Opaque = (void*)GCHandle.ToIntPtr(self);
            rc = Init(&stream, blockSize, 0, 0);
            if (rc != Ok) throw new IOException($"BZ2_bzCompressInit: {rc}");
            fixed (byte* source = input)
            fixed (byte* dest = room)
            {
                stream.NextIn = source;
                stream.AvailIn = (uint)count;
                stream.NextOut = dest;
                stream.AvailOut = (uint)room.Length;
                rc = CompressStream(&stream, Finish);
                written = room.Length - (int)stream.AvailOut;
            }
            End(&stream);
        }
        finally
        {
            self.Free();
            workspace.ReleaseAll();
            idle.Add(workspace);
        }
        if (rc != StreamEnd) throw new IOException($"BZ2_bzCompress: {rc}");
        ChunkOutput.Advance(output, room.Length, written);
    }

    /// <summary>The blocks libbz2 asked for, kept for the next stream: it asks for the same sizes every time.</summary>
    private sealed class Workspace
    {
        private readonly List<byte[]> blocks = [];
        private readonly List<bool> used = [];

        [UnmanagedCallersOnly]
        public static void* Allocate(void* opaque, int items, int size)
        {
            try
            {
                var workspace = (Workspace)GCHandle.FromIntPtr((nint)opaque).Target!;
                var bytes = (long)items * size;
                if (bytes <= 0 || bytes > Array.MaxLength) return null;
                for (var i = 0; i < workspace.blocks.Count; i++)
                    if (!workspace.used[i] && workspace.blocks[i].Length == bytes)
                    {
                        workspace.used[i] = true;
                        return Address(workspace.blocks[i]);
                    }
                // Pinned, so the address stays valid; not cleared: libbz2 takes malloc's memory as it comes.
                var block = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
                workspace.blocks.Add(block);
                workspace.used.Add(true);
                return Address(block);
            }
            catch
            {
                return null; // BZ_MEM_ERROR
            }
        }

        [UnmanagedCallersOnly]
        public static void Release(void* opaque, void* address)
        {
            try
            {
                var workspace = (Workspace)GCHandle.FromIntPtr((nint)opaque).Target!;
                for (var i = 0; i < workspace.blocks.Count; i++)
                    if (Address(workspace.blocks[i]) == address) workspace.used[i] = false;
            }
            catch
            {
                // Nothing to do: the block stays with the workspace.
            }
        }

        public void ReleaseAll()
        {
            for (var i = 0; i < used.Count; i++) used[i] = false;
        }

        private static void* Address(byte[] block) => Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(block));
    }
}
