using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Puts scanned trees at their place in the image tree ("2026/11/21"), creating missing parent folders
/// and merging with folders an earlier graft made, so several days can share "2026/11".
/// </summary>
internal static class GraftPoints
{
    private const int MaxNameBytes = 255; // what NM can carry and Linux accepts as a name

    public static string[] Components(string isoPath)
    {
        ArgumentNullException.ThrowIfNull(isoPath);
        var parts = isoPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            if (part is "." or ".." || part.Contains('\0') || Encoding.UTF8.GetByteCount(part) > MaxNameBytes)
                throw new ArgumentException($"The image path '{isoPath}' has an invalid component '{part}'.");
        }
        return parts;
    }

    /// <summary>Checks everything first and only then changes the tree, so a refused graft leaves it as it was.</summary>
    public static void Graft(IsoEntry root, string isoPath, IsoEntry scanned)
    {
        var components = Components(isoPath);
        var existing = root;
        foreach (var name in components)
        {
            if (!existing.Children.TryGetValue(name, out var next)) { existing = null; break; }
            if (!next.IsDirectory)
                throw new ArgumentException($"The image path '{isoPath}' runs through '{next.IsoPath}', which is not a directory.");
            existing = next;
        }
        if (existing != null) CheckMerge(existing, scanned, isoPath);

        var target = root;
        foreach (var name in components)
        {
            if (!target.Children.TryGetValue(name, out var next))
            {
                next = IsoEntry.NewSyntheticDirectory(name, target);
                target.Children.Add(name, next);
            }
            target = next;
        }
        Merge(target, scanned);
    }

    private static void CheckMerge(IsoEntry existing, IsoEntry scanned, string isoPath)
    {
        foreach (var (name, child) in scanned.Children)
        {
            if (!existing.Children.TryGetValue(name, out var other)) continue;
            if (!other.IsDirectory || !child.IsDirectory)
                throw new ArgumentException($"The image path '{other.IsoPath}' would be added twice (again by the graft '{isoPath}').");
            CheckMerge(other, child, isoPath);
        }
    }

    private static void Merge(IsoEntry target, IsoEntry scanned)
    {
        // A folder made up for a graft takes the attributes of the first real folder grafted onto it.
        if (target.Synthetic && !scanned.Synthetic)
        {
            target.Mode = scanned.Mode;
            target.Uid = scanned.Uid;
            target.Gid = scanned.Gid;
            target.MtimeSeconds = scanned.MtimeSeconds;
            target.CtimeSeconds = scanned.CtimeSeconds;
            target.Synthetic = false;
        }
        foreach (var (name, child) in scanned.Children)
        {
            if (target.Children.TryGetValue(name, out var other))
            {
                Merge(other, child);
                continue;
            }
            child.Parent = target;
            target.Children.Add(name, child);
        }
    }
}
