namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Finding entries in a tree read from a medium and reading their data back.</summary>
internal static class IsoFiles
{
    /// <summary>The entry at <paramref name="isoPath"/> ("2026/11/24"), or null.</summary>
    public static IsoEntry? Find(IsoEntry root, string isoPath)
    {
        var entry = root;
        foreach (var name in GraftPoints.Components(isoPath))
            if (!entry.IsDirectory || !entry.Children.TryGetValue(name, out entry!)) return null;
        return entry;
    }

    /// <summary>Every entry below <paramref name="directory"/> with its path relative to it ("peer/cback.collect").</summary>
    public static IEnumerable<(string RelativePath, IsoEntry Entry)> Walk(IsoEntry directory, string prefix = "")
    {
        foreach (var child in directory.Children.Values)
        {
            var path = prefix.Length == 0 ? child.Name : prefix + "/" + child.Name;
            yield return (path, child);
            if (child.IsDirectory)
                foreach (var below in Walk(child, path)) yield return below;
        }
    }

    /// <summary>Feeds a file's data, extent by extent, to <paramref name="consume"/> (buffer, bytes in it).</summary>
    public static void Read(Stream medium, IsoEntry file, Action<byte[], int> consume, CancellationToken cancel = default)
    {
        var buffer = new byte[1 << 20];
        foreach (var (lba, length) in file.Existing ?? throw new ArgumentException($"'{file.IsoPath}' was not read from a medium."))
        {
            medium.Position = lba * (long)IsoBytes.BlockSize;
            for (long left = length; left > 0;)
            {
                cancel.ThrowIfCancellationRequested();
                var n = medium.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0) throw new InvalidDataException($"The medium ends inside the data of '{file.IsoPath}'.");
                consume(buffer, n);
                left -= n;
            }
        }
    }
}
