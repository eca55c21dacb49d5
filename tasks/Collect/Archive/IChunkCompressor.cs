namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Compresses one chunk into a self-contained unit (a gzip member, a bzip2 stream) so that units
/// compressed independently, on different threads, concatenate into one valid compressed file.
/// Implementations keep no state between calls: several workers share one instance.
/// </summary>
internal interface IChunkCompressor
{
    /// <summary>Appends the unit to <paramref name="output"/>: a <see cref="ChunkOutput"/> or a MemoryStream.</summary>
    void Compress(byte[] input, int count, Stream output);
}
