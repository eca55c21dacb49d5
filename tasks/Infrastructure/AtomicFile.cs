namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Files that appear complete or not at all: written under a temporary name in the destination
/// folder, flushed to disk, then renamed over the final name.
/// </summary>
public static class AtomicFile
{
    /// <summary>Temporary files start with this prefix so a later run can recognise and remove leftovers.</summary>
    public const string TempPrefix = ".bkp-tmp-";

    public static string TempPathFor(string finalPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
        return Path.Combine(dir, TempPrefix + Path.GetFileName(finalPath) + "." + Guid.NewGuid().ToString("N")[..8]);
    }

    /// <summary>Runs <paramref name="write"/> on a temporary stream and publishes the file only if it returns normally.</summary>
    public static void Write(string finalPath, Action<FileStream> write)
    {
        var temp = TempPathFor(finalPath);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, finalPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string finalPath, byte[] bytes) =>
        Write(finalPath, s => s.Write(bytes));

    /// <summary>Removes temporary files a killed run left in <paramref name="directory"/>.</summary>
    public static void RemoveLeftovers(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var leftover in Directory.EnumerateFiles(directory, TempPrefix + "*"))
            TryDelete(leftover);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
