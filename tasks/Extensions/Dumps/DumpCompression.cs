using System.IO.Compression;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>How a dump is compressed (MysqlCompressMode, PostgresqlCompressMode): Cedar's none, gzip and bzip2.</summary>
public enum DumpCompression { None, Gzip, Bzip2 }

internal static class DumpCompressions
{
    public static readonly string[] Names = { "none", "gzip", "bzip2" };

    /// <summary>Parses a compress mode; an empty value means <paramref name="fallback"/>.</summary>
    public static DumpCompression Parse(string? value, string property, Problems problems, DumpCompression fallback)
    {
        switch ((value ?? "").Trim())
        {
            case "": return fallback;
            case "none": return DumpCompression.None;
            case "gzip": return DumpCompression.Gzip;
            case "bzip2": return DumpCompression.Bzip2;
            default:
                problems.Error("Config.BadChoice", property, value!, string.Join(", ", Names));
                return fallback;
        }
    }

    /// <summary>Cedar's file name suffixes: "", ".gz", ".bz2".</summary>
    public static string Extension(DumpCompression mode) => mode switch
    {
        DumpCompression.Gzip => ".gz",
        DumpCompression.Bzip2 => ".bz2",
        _ => "",
    };

    /// <summary>Null for none; otherwise a compressor whose independent units concatenate into one valid file.</summary>
    public static IChunkCompressor? Compressor(DumpCompression mode) => mode switch
    {
        DumpCompression.Gzip => new GzipMemberCompressor(CompressionLevel.Optimal),
        DumpCompression.Bzip2 => NativeBzip2Compressor.IsAvailable
            ? new NativeBzip2Compressor(CompressionLevel.Optimal)
            : new ManagedBzip2Compressor(CompressionLevel.Optimal),
        _ => null,
    };

    // GZipStream writes nothing at all when given nothing; gzip -t wants a header, an empty
    // deflate block and a zero CRC and length.
    private static readonly byte[] EmptyGzip =
        { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

    /// <summary>A complete compressed file of no content, for a compressor that produced no bytes for empty input.</summary>
    public static byte[] EmptyFile(DumpCompression mode) => mode == DumpCompression.Gzip ? EmptyGzip : Array.Empty<byte>();
}
