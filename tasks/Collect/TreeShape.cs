using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// What an archive of regular files and links does not say about the tree, gathered from a collect's walk for
/// the manifest: which names are hard links of one file (regular files with more than one link, by device and
/// inode) and the mode, owner and time of each folder on the way to the files, from the item's folder down.
/// Only files with several links and the folders are held in memory, not every path.
/// </summary>
internal sealed class TreeShape
{
    private readonly byte[] _top;
    private readonly Dictionary<(ulong, ulong), List<byte[]>> _inodes = new();
    private readonly HashSet<string> _seenFolders = new(StringComparer.Ordinal);
    private readonly List<CollectManifestFolder> _folders = new();
    private byte[]? _lastFolder;

    public TreeShape(string jobPath)
    {
        var top = jobPath.Length > 1 ? jobPath.TrimEnd('/') : jobPath;
        _top = PosixPath.Encode(top);
    }

    public void Add(WalkEntry e)
    {
        var path = e.PathBytes;
        if (e.Stat.IsRegular && e.Stat.Links > 1)
        {
            var key = (e.Stat.Device, e.Stat.Inode);
            if (!_inodes.TryGetValue(key, out var names)) _inodes[key] = names = new List<byte[]>(2);
            names.Add(Member(path));
        }
        // The folders from the file's own up to the item's folder (those already recorded end the climb).
        var end = path.AsSpan().LastIndexOf((byte)'/');
        // A folder's files come one after another: the same folder as the previous entry's was climbed from already.
        if (_lastFolder != null && end >= 0 && path.AsSpan(0, end).SequenceEqual(_lastFolder)) return;
        _lastFolder = end >= 0 ? path[..end] : null;
        while (end > 0)
        {
            var folder = path.AsSpan(0, end);
            if (!Within(folder)) break;
            var name = PosixPath.Decode(folder);
            if (!_seenFolders.Add(name)) break;
            if (Posix.LStat(name, out _) is { IsDirectory: true } st)
                _folders.Add(CollectManifestFolder.Of(Member(folder.ToArray()), st));
            end = folder.LastIndexOf((byte)'/');
        }
    }

    private bool Within(ReadOnlySpan<byte> folder)
    {
        if (_top.Length == 1 && _top[0] == (byte)'/') return true;
        return folder.SequenceEqual(_top) || (folder.Length > _top.Length && folder.StartsWith(_top) && folder[_top.Length] == (byte)'/');
    }

    private static byte[] Member(byte[] absolute)
    {
        var start = 0;
        while (start < absolute.Length && absolute[start] == (byte)'/') start++;
        return absolute[start..];
    }

    /// <summary>Sets the item's <see cref="CollectManifestItem.Links"/> and <see cref="CollectManifestItem.Folders"/>.</summary>
    public CollectManifestItem AddTo(CollectManifestItem item)
    {
        var links = new List<CollectManifestNames>();
        foreach (var names in _inodes.Values)
        {
            if (names.Count < 2) continue;
            var group = new CollectManifestNames();
            foreach (var n in names) group.Add(n);
            links.Add(group);
        }
        item.Links = links.Count > 0 ? links : null;
        item.Folders = _folders.Count > 0 ? _folders : null;
        return item;
    }
}
