using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Stage;

/// <summary>
/// Turns Peer items into <see cref="StagePeer"/>s, reporting every problem (not just the first)
/// with the item and metadata at fault.
/// </summary>
public static class PeerItems
{
    public static readonly string[] Metadata =
    {
        "Type", "CollectDir", "IgnoreFailures", "Host", "Port", "User", "IdentityFile", "KnownHostsFile",
        "RemoteShell", "RemoteCopy", "Managed", "ManagedActions", "ManagedProject",
    };

    /// <summary>The peers; remote ones get <paramref name="defaults"/> (the BackupSshSettings group) for what is not per peer (timeouts, ciphers).</summary>
    public static List<StagePeer> Read(ITaskItem[]? items, Action<string, object[]> problem, Settings.SshSettings? defaults)
    {
        var peers = new List<StagePeer>();
        if (items == null || items.Length == 0)
        {
            problem("Stage.NoPeers", Array.Empty<object>());
            return peers;
        }

        foreach (var group in items.GroupBy(i => i.ItemSpec, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problem("Stage.DuplicatePeer", new object[] { group.Key, group.Count(), DefinedIn(group) });

        foreach (var item in items)
        {
            var peer = ReadOne(item, problem, defaults);
            if (peer != null && !peers.Any(p => p.Name == peer.Name)) peers.Add(peer);
        }
        return peers;
    }

    /// <summary>The files that define the items (MSBuild's DefiningProjectFullPath), each once, with a count when a file repeats.</summary>
    internal static string DefinedIn(IEnumerable<ITaskItem> items)
    {
        var files = items.Select(i => i.GetMetadata("DefiningProjectFullPath")).Select(f => f.Length == 0 ? "(no file)" : f)
            .GroupBy(f => f, StringComparer.Ordinal)
            .Select(g => g.Count() > 1 ? $"{g.Count()} times in {g.Key}" : g.Key);
        return string.Join(", ", files);
    }

    private static StagePeer? ReadOne(ITaskItem item, Action<string, object[]> problem, Settings.SshSettings? defaults)
    {
        var name = item.ItemSpec;
        var ok = true;

        // The name becomes a folder under the day folder: it must not climb out of it.
        if (string.IsNullOrWhiteSpace(name) || name == "." || name == ".." || name.Contains('/') || name.Contains('\0'))
        {
            problem("Stage.BadPeerName", new object[] { name });
            ok = false;
        }

        PeerType type = PeerType.Local;
        var typeText = item.GetMetadata("Type");
        switch (typeText)
        {
            case "local": type = PeerType.Local; break;
            case "remote": type = PeerType.Remote; break;
            case "":
                problem("Stage.MissingType", new object[] { name });
                ok = false;
                break;
            default:
                problem("Stage.UnknownType", new object[] { name, typeText });
                ok = false;
                break;
        }

        var collectDir = item.GetMetadata("CollectDir");
        if (string.IsNullOrWhiteSpace(collectDir))
        {
            problem("Stage.MissingCollectDir", new object[] { name });
            ok = false;
        }
        else if (!Path.IsPathFullyQualified(collectDir))
        {
            problem("Stage.RelativeCollectDir", new object[] { name, collectDir });
            ok = false;
        }

        var ignore = IgnoreFailures.None;
        var ignoreText = item.GetMetadata("IgnoreFailures");
        switch (ignoreText)
        {
            // The default (none) is the Peer ItemDefinitionGroup's in targets/BackupBuild.props.
            case "":
                problem("Config.MissingItemMetadata", new object[] { "Peer", name, "IgnoreFailures" });
                ok = false;
                break;
            case "none": break;
            case "all": ignore = IgnoreFailures.All; break;
            case "daily": ignore = IgnoreFailures.Daily; break;
            case "weekly": ignore = IgnoreFailures.Weekly; break;
            default:
                problem("Stage.BadIgnoreFailures", new object[] { name, ignoreText });
                ok = false;
                break;
        }

        var peer = ok ? new StagePeer(name, type, Infrastructure.Values.Trim(Path.GetFullPath(collectDir)), ignore) : null;
        if (type == PeerType.Remote)
        {
            var remote = RemotePeerItems.Read(item, defaults, problem);
            if (remote == null) return null;
            peer = peer == null ? null : remote(peer);
        }
        else if (item.GetMetadata("Managed") is var m && m != "false")
        {
            if (m.Length == 0) problem("Config.MissingItemMetadata", new object[] { "Peer", name, "Managed" });
            else problem("Stage.ManagedLocal", new object[] { name });
            return null;
        }
        return peer;
    }
}
