namespace BackupBuild.Tasks.Store;

/// <summary>
/// Cedar's check_data with SHA-256: the staged folder and the same folder read back from the medium must hold
/// the same regular files with the same contents (symbolic links are not compared, as in Cedar). Every
/// difference is reported, each naming its file.
/// </summary>
public static class DataCheck
{
    public sealed record Difference(string Resource, object[] Args);

    public static List<Difference> Compare(string isoPath, string stagedDir, IReadOnlyList<StagedEntry> staged,
        IReadOnlyDictionary<string, byte[]>? onMedium, string medium)
    {
        if (onMedium == null) return [new("Media.DataFolderMissing", ["/" + isoPath, medium])];
        var differences = new List<Difference>();
        var stagedFiles = staged.Where(e => e.IsRegularFile).ToDictionary(e => e.RelativePath, StringComparer.Ordinal);
        foreach (var (relative, entry) in stagedFiles.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var stagedPath = Path.Combine(stagedDir, relative);
            var mediumPath = "/" + isoPath + "/" + relative;
            if (!onMedium.TryGetValue(relative, out var hash))
                differences.Add(new("Media.DataMissing", [stagedPath, medium, mediumPath]));
            else if (!hash.AsSpan().SequenceEqual(entry.Sha256))
                differences.Add(new("Media.DataDiffers", [mediumPath, medium, stagedPath, Hex(hash), Hex(entry.Sha256!)]));
        }
        foreach (var relative in onMedium.Keys.Where(k => !stagedFiles.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal))
            differences.Add(new("Media.DataExtra", ["/" + isoPath + "/" + relative, medium, stagedDir]));
        return differences;
    }

    private static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant()[..16] + "…";
}
