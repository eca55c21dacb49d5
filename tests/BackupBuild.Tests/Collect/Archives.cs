using System.IO.Compression;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tests.Collect;

/// <summary>Writes archives of real files with <see cref="TarArchiveWriter"/>, as the collect task will.</summary>
internal static class Archives
{
    public static string Extension(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => ".tar.gz",
        ArchiveFormat.TarBz2 => ".tar.bz2",
        ArchiveFormat.TarZst => ".tar.zst",
        _ => ".tar",
    };

    /// <summary>GNU tar's option for the format's compression.</summary>
    public static string[] TarCompressionOption(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => ["-z"],
        ArchiveFormat.TarBz2 => ["-j"],
        ArchiveFormat.TarZst => ["--zstd"],
        _ => [],
    };

    /// <summary>Python's tarfile.open mode for reading the format.</summary>
    public static string PythonMode(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => "r:gz",
        ArchiveFormat.TarBz2 => "r:bz2",
        _ => "r:",
    };

    public static (long BytesIn, long BytesOut) Write(string archive, IEnumerable<string> paths, ArchiveFormat format,
        int threads = 2, int? chunkSize = null, IChunkCompressor? compressor = null)
    {
        using var output = new FileStream(archive, FileMode.CreateNew, FileAccess.Write);
        using var writer = chunkSize is null && compressor is null
            ? new TarArchiveWriter(output, format, CompressionLevel.Optimal, threads)
            : new TarArchiveWriter(output, compressor ?? ChunkCompressors.For(format, CompressionLevel.Optimal),
                threads, chunkSize ?? ChunkSizes.For(format));
        foreach (var path in paths) Add(writer, path);
        writer.Finish();
        return (writer.BytesIn, writer.BytesOut);
    }

    public static FileAddResult Add(TarArchiveWriter writer, string path)
    {
        var stat = Posix.LStat(path, out var errno) ?? throw new IOException(Posix.ErrorText(errno));
        if (stat.IsSymlink)
        {
            writer.AddSymlink(SampleTree.EntryName(path), stat, new FileInfo(path).LinkTarget!);
            return FileAddResult.Complete;
        }
        using var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        return writer.AddFile(SampleTree.EntryName(path), stat, content);
    }
}
