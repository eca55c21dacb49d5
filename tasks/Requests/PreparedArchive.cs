using System.IO.Compression;
using System.Security.Cryptography;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// The data of an sftp request: one tar.gz with the site folder (if any) under its full path and the
/// dumps prepared for it, written to a temporary name, hashed, and renamed to its SHA-256 in the
/// server's outgoing folder. Identical content gets the same name, and the server stores it once.
/// </summary>
internal static class PreparedArchive
{
    public sealed record Result(string Path, string Sha256, long Size, int Files);

    public static Result Write(string outgoingDir, string? siteFolder, IEnumerable<string> excludePaths, string prepareDir,
        Action<string, string> unreadable, CancellationToken cancel)
    {
        Directory.CreateDirectory(outgoingDir);
        AtomicFile.RemoveLeftovers(outgoingDir);
        var entries = new List<WalkEntry>();
        if (siteFolder != null)
        {
            var walker = new CollectWalker("", excludePaths, Array.Empty<System.Text.RegularExpressions.Regex>(),
                (path, kind, errno) => unreadable(path, $"{kind}, errno {errno}"), cancel);
            walker.AddDirectory(siteFolder, 0, false);
            entries.AddRange(walker.Entries);
        }
        var dumps = Directory.Exists(prepareDir)
            ? Directory.EnumerateFiles(prepareDir).Where(f => !Path.GetFileName(f).StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList()
            : new List<string>();

        var temp = AtomicFile.TempPathFor(Path.Combine(outgoingDir, "prepared"));
        var files = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                using (var writer = new TarArchiveWriter(stream, ArchiveFormat.TarGz, CompressionLevel.Optimal, Environment.ProcessorCount))
                {
                    foreach (var e in entries)
                        if (Add(writer, e.Path, e.Path.TrimStart('/'), unreadable, cancel)) files++;
                    // A dump made again of an unchanged database is the same file: give it the site's newest
                    // time rather than the moment it was written, so identical content makes an identical archive.
                    var newest = entries.Count == 0 ? (long?)null : entries.Max(e => e.Stat.MtimeSeconds);
                    foreach (var d in dumps)
                        if (Add(writer, d, Path.GetFileName(d), unreadable, cancel, newest)) files++;
                    writer.Finish();
                }
                stream.Flush(flushToDisk: true);
            }
            string sha;
            sha = FileHash.Sha256(temp);
            var final = Path.Combine(outgoingDir, sha);
            File.Move(temp, final, overwrite: true);
            return new Result(final, sha, new FileInfo(final).Length, files);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    private static bool Add(TarArchiveWriter writer, string path, string name, Action<string, string> unreadable, CancellationToken cancel,
        long? mtime = null)
    {
        var stat = Posix.LStat(path, out var errno);
        if (stat is not { } s) { unreadable(path, "errno " + errno); return false; }
        if (s.IsSymlink)
        {
            var target = Posix.ReadLink(path, out _);
            if (target == null) return false;
            writer.AddSymlink(name, s, target);
            return true;
        }
        if (!s.IsRegular) return false;
        // By the name's exact bytes (a name that is not UTF-8 too), never through a link swapped in since the lstat.
        var content = Posix.OpenReadStream(path, out var openErrno);
        if (content == null)
        {
            unreadable(PosixPath.Display(path), Posix.ErrorText(openErrno));
            return false;
        }
        using (content)
        {
            var now = Posix.FStat(content.SafeFileHandle, out _) ?? s;
            if (!now.IsRegular)
            {
                unreadable(PosixPath.Display(path), "no longer a regular file");
                return false;
            }
            if (mtime is { } m) now = now with { MtimeSeconds = m, MtimeNanos = 0 };
            try
            {
                return writer.AddFile(name, now, content, null, cancel) == FileAddResult.Complete;
            }
            catch (IOException e)
            {
                unreadable(path, e.Message);
                return false;
            }
        }
    }
}
