using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Staged;

/// <summary>
/// The content of our cback.encrypt and cback.split: Cedar only checks that the indicator exists; we also list each
/// original file the extension replaced (relative path, size, mtime). When Stage copies the same archive into the
/// day again (it does whenever the staged copy is missing), the extension recognises it, removes the plaintext copy
/// and keeps its earlier output, so the day stays what Store already holds; a changed archive is processed again.
/// </summary>
public sealed class ProcessedFiles
{
    private const string HeaderPrefix = "backupbuild-";
    private readonly Dictionary<string, (long Size, long MtimeTicks)> _files = new(StringComparer.Ordinal);

    private ProcessedFiles(bool ours) => Ours = ours;

    /// <summary>False for an indicator we did not write (Cedar's empty file): the day is left as Cedar left it.</summary>
    public bool Ours { get; }

    public bool Exists { get; private set; }

    public IEnumerable<string> Paths => _files.Keys;

    /// <summary>
    /// The indicator's list plus what a killed run had done (indicator.partial, rewritten after every file), so
    /// that run's output is never taken for new input (a .gpg file encrypted twice).
    /// </summary>
    public static ProcessedFiles Read(string dayDir, string indicator)
    {
        var path = Path.Combine(dayDir, indicator);
        var exists = File.Exists(path);
        var lines = exists ? File.ReadAllLines(path) : [];
        var ours = !exists || (lines.Length > 0 && lines[0].StartsWith(HeaderPrefix, StringComparison.Ordinal));
        var result = new ProcessedFiles(ours) { Exists = exists };
        var partial = Path.Combine(dayDir, PartialName(indicator));
        if (File.Exists(partial)) lines = lines.Concat(File.ReadAllLines(partial)).ToArray();
        foreach (var line in lines)
        {
            var parts = line.Split('\t');
            if (parts.Length == 3 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size) &&
                long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
                result._files[parts[2]] = (size, ticks);
        }
        return result;
    }

    public bool Contains(string relative) => _files.ContainsKey(relative);

    /// <summary>True when the file is the one processed before (same size and mtime, the rule Stage itself uses).</summary>
    public bool Matches(string relative, FileInfo file) =>
        _files.TryGetValue(relative, out var seen) && seen.Size == file.Length && seen.MtimeTicks == file.LastWriteTimeUtc.Ticks;

    public void Record(string relative, long size, DateTime mtimeUtc) => _files[relative] = (size, mtimeUtc.Ticks);

    public void Forget(string relative) => _files.Remove(relative);

    public static string PartialName(string indicator) => indicator + ".partial";

    /// <summary>Records progress after each file, under a name Store and the extensions treat as an indicator.</summary>
    public void WriteProgress(string dayDir, string indicator) => Write(dayDir, PartialName(indicator));

    /// <summary>Writes the indicator last, once everything it vouches for is in place, and drops the progress file.</summary>
    public void Complete(string dayDir, string indicator)
    {
        Write(dayDir, indicator);
        File.Delete(Path.Combine(dayDir, PartialName(indicator)));
    }

    private void Write(string dayDir, string indicator)
    {
        var text = new StringBuilder(HeaderPrefix + indicator + " 1\n");
        foreach (var (path, (size, ticks)) in _files.OrderBy(f => f.Key, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture, $"{size}\t{ticks}\t{path}\n");
        AtomicFile.WriteAllBytes(Path.Combine(dayDir, indicator), Encoding.UTF8.GetBytes(text.ToString()));
    }
}
