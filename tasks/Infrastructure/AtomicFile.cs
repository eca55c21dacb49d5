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

    /// <summary>Starts a file written over time; it appears under <paramref name="finalPath"/> only on <see cref="Pending.Commit"/>.</summary>
    public static Pending Begin(string finalPath) => new(finalPath);

    /// <summary>A file being written under its temporary name; disposing it uncommitted removes it.</summary>
    public sealed class Pending : IDisposable
    {
        private readonly string _final;
        private readonly string _temp;
        private bool _done;

        internal Pending(string finalPath)
        {
            _final = finalPath;
            _temp = TempPathFor(finalPath);
            Stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        }

        public FileStream Stream { get; }

        /// <summary>Flushes the file to disk and renames it over the final name.</summary>
        public void Commit()
        {
            Stream.Flush(flushToDisk: true);
            Stream.Dispose();
            File.Move(_temp, _final, overwrite: true);
            _done = true;
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            try { Stream.Dispose(); } catch (IOException) { }
            TryDelete(_temp);
        }
    }

    public static void WriteAllBytes(string finalPath, byte[] bytes) =>
        Write(finalPath, s => s.Write(bytes));

    /// <summary>Removes temporary files and folders a killed run left in <paramref name="directory"/>.</summary>
    public static void RemoveLeftovers(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var leftover in Directory.EnumerateFiles(directory, TempPrefix + "*"))
            TryDelete(leftover);
        foreach (var leftover in Directory.EnumerateDirectories(directory, TempPrefix + "*"))
        {
            try { Directory.Delete(leftover, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A temporary folder name next to <paramref name="finalPath"/>, removed by <see cref="RemoveLeftovers"/> if abandoned.</summary>
    public static string TempDirectoryFor(string finalPath) => TempPathFor(finalPath);

    /// <summary>
    /// Puts a completed temporary folder in place of <paramref name="finalPath"/>. Between the two
    /// renames the final folder is briefly absent (never half-filled); the old one is then removed.
    /// </summary>
    public static void ReplaceDirectory(string tempPath, string finalPath)
    {
        string? old = null;
        if (Directory.Exists(finalPath))
        {
            old = TempPathFor(finalPath);
            Directory.Move(finalPath, old);
        }
        Directory.Move(tempPath, finalPath);
        if (old != null)
        {
            try { Directory.Delete(old, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
