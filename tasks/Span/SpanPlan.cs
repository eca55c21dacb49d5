using System.Globalization;
using System.Text;

namespace BackupBuild.Tasks.Span;

/// <summary>One staged file and where it goes: its path on the media ("2026/11/24/web/x.tar.gz"), source, size.</summary>
public sealed record SpanFile(string IsoPath, string Source, long Size)
{
    public int Medium { get; set; }
}

/// <summary>
/// Cedar's cback3-span planning with a fixed fit: files in path order, each on the current medium while it fits in
/// the medium's room (capacity less the cushion), else on the next. Sizes are counted conservatively (whole blocks
/// plus a block of directory records per file and two per folder) so the written image never exceeds the plan.
/// </summary>
public static class SpanPlan
{
    public const long Block = 2048;
    /// <summary>System area, volume descriptors, path tables, root, the index folder: a fixed allowance per medium.</summary>
    public const long FixedOverhead = 256 * 1024;

    public static long Cost(long size) => (size + Block - 1) / Block * Block + Block;

    /// <summary>Room per medium: capacity × (100 − cushion) / 100.</summary>
    public static long Room(long capacity, double cushionPercent) => (long)(capacity * (100 - cushionPercent) / 100);

    /// <summary>The index's size on each medium: its text for this many files, rounded up generously.</summary>
    public static long IndexAllowance(IReadOnlyList<SpanFile> files) =>
        Cost(files.Sum(f => (long)Encoding.UTF8.GetByteCount(f.IsoPath) + 40) + 1024);

    /// <summary>Numbers the media (1, 2, …) of every file; the number of media. The first file too big for one medium is returned.</summary>
    public static (int Media, SpanFile? TooBig) Assign(IReadOnlyList<SpanFile> files, long room)
    {
        var budget = room - FixedOverhead - IndexAllowance(files);
        var medium = 1;
        long used = 0;
        var folders = new HashSet<string>();
        foreach (var f in files)
        {
            var newFolders = Folders(f.IsoPath).Where(d => !folders.Contains(d)).ToList();
            var cost = Cost(f.Size) + newFolders.Count * 2 * Block;
            var alone = Cost(f.Size) + Folders(f.IsoPath).Count() * 2 * Block;
            if (alone > budget) return (0, f);
            if (used + cost > budget)
            {
                medium++;
                used = 0;
                folders.Clear();
                newFolders = Folders(f.IsoPath).ToList();
                cost = alone;
            }
            foreach (var d in newFolders) folders.Add(d);
            used += cost;
            f.Medium = medium;
        }
        return (files.Count == 0 ? 0 : medium, null);
    }

    private static IEnumerable<string> Folders(string isoPath)
    {
        for (var i = isoPath.IndexOf('/'); i >= 0; i = isoPath.IndexOf('/', i + 1)) yield return isoPath[..i];
    }

    /// <summary>The index: which file is on which medium (tab-separated; written on every medium and beside the images).</summary>
    public static string Index(IReadOnlyList<SpanFile> files, IReadOnlyList<string> imageNames, DateTimeOffset when)
    {
        var sb = new StringBuilder();
        sb.Append("# BackupBuild span index: ").Append(files.Count).Append(" files on ").Append(imageNames.Count)
          .Append(" media, written ").Append(when.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)).Append('\n');
        for (var i = 0; i < imageNames.Count; i++)
            sb.Append("# medium ").Append(i + 1).Append(": ").Append(imageNames[i]).Append('\n');
        sb.Append("# medium\tbytes\tpath\n");
        foreach (var f in files)
            sb.Append(f.Medium.ToString(CultureInfo.InvariantCulture)).Append('\t')
              .Append(f.Size.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(f.IsoPath).Append('\n');
        return sb.ToString();
    }
}
