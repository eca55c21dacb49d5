using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>What an incremental item knew about one file at its last collect.</summary>
public readonly record struct FileState(long Size, long MtimeSeconds, long MtimeNanos, long CtimeSeconds, long CtimeNanos,
    ulong Inode, byte[] Sha256)
{
    public static FileState From(in PosixStat s, byte[] sha256) =>
        new(s.Size, s.MtimeSeconds, s.MtimeNanos, s.CtimeSeconds, s.CtimeNanos, s.Inode, sha256);

    /// <summary>Unchanged stat data: the file is trusted without reading it (git's rule).</summary>
    public bool SameStat(in PosixStat s) =>
        Size == s.Size && MtimeSeconds == s.MtimeSeconds && MtimeNanos == s.MtimeNanos &&
        CtimeSeconds == s.CtimeSeconds && CtimeNanos == s.CtimeNanos && Inode == s.Inode;
}

/// <summary>
/// The incremental state of one collect item (Cedar keeps a pickled SHA-1 digest; this is our
/// own format): every file present at the last collect with its stat data and SHA-256. The file
/// ends with a SHA-256 of its contents, so a damaged state is detected and treated as absent
/// (everything is archived again) instead of silently skipping files.
/// </summary>
public static class IncrementalState
{
    private static readonly byte[] Magic = "BKPSTATE"u8.ToArray();
    private const int Version = 1;

    public enum LoadResult { Loaded, Missing, Damaged }

    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static LoadResult TryLoad(string path, out string day, out Dictionary<string, FileState> state)
    {
        state = new Dictionary<string, FileState>(StringComparer.Ordinal);
        day = "";
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return LoadResult.Missing; }
        catch (DirectoryNotFoundException) { return LoadResult.Missing; }
        if (bytes.Length < Magic.Length + 4 + 8 + 32) return LoadResult.Damaged;
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32))) return LoadResult.Damaged;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, body.Length), Encoding.UTF8);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != Version)
                return LoadResult.Damaged;
            day = reader.ReadString();
            var count = reader.ReadInt64();
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                state[name] = new FileState(reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(),
                    reader.ReadInt64(), reader.ReadUInt64(), reader.ReadBytes(32));
            }
            return LoadResult.Loaded;
        }
        catch (EndOfStreamException)
        {
            state.Clear();
            return LoadResult.Damaged;
        }
    }

    /// <param name="day">The run day (yyyy-MM-dd) the state was written on.</param>
    public static void Save(string path, string day, IReadOnlyDictionary<string, FileState> state)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, stream =>
        {
            var body = new MemoryStream();
            using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(Version);
                writer.Write(day);
                writer.Write((long)state.Count);
                foreach (var (name, f) in state.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    writer.Write(name);
                    writer.Write(f.Size); writer.Write(f.MtimeSeconds); writer.Write(f.MtimeNanos);
                    writer.Write(f.CtimeSeconds); writer.Write(f.CtimeNanos); writer.Write(f.Inode);
                    writer.Write(f.Sha256);
                }
            }
            body.Position = 0;
            body.CopyTo(stream);
            stream.Write(SHA256.HashData(body.ToArray()));
        });
    }
}
