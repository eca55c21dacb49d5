namespace BackupBuild.Tasks.Store.Iso;

internal enum RecordRole { Self, Parent, Child }

/// <summary>
/// Which System Use entries a directory record carries: RR, PX and TF always; NM (and SL for links) on
/// named records; SP and the ER that names Rock Ridge on the root's own "." record.
/// </summary>
internal static class RockRidgeFields
{
    public static List<byte[]> For(IsoEntry entry, RecordRole role, long syntheticTime)
    {
        var entries = new List<byte[]>();
        var rootSelf = role == RecordRole.Self && entry.Parent == null;
        if (rootSelf) entries.Add(SuspEntries.SP());

        var named = role == RecordRole.Child;
        var symlink = named && entry.Kind == IsoEntryKind.Symlink;
        var flags = (byte)(SuspEntries.HasPX | SuspEntries.HasTF | (named ? SuspEntries.HasNM : 0) | (symlink ? SuspEntries.HasSL : 0));
        entries.Add(SuspEntries.RR(flags));
        entries.Add(SuspEntries.PX(entry.Mode, Links(entry), entry.Uid, entry.Gid));

        // Access time is recorded as the modification time: reading files for the backup changes
        // their real access time, which would make the image differ from run to run for nothing.
        var modified = ModificationTime(entry, syntheticTime);
        var changed = entry.Synthetic ? syntheticTime : entry.CtimeSeconds;
        entries.Add(SuspEntries.TF(modified, modified, changed));

        if (named) entries.AddRange(NameEntries.For(entry.NameBytes));
        if (symlink) entries.AddRange(SymlinkEntries.For(entry.LinkTarget!));
        if (rootSelf) entries.Add(SuspEntries.ER());
        return entries;
    }

    public static long ModificationTime(IsoEntry entry, long syntheticTime) =>
        entry.Synthetic ? syntheticTime : entry.MtimeSeconds;

    /// <summary>POSIX link count: a directory is linked from its parent, its "." and each child's "..".</summary>
    private static uint Links(IsoEntry entry) =>
        entry.IsDirectory ? 2u + (uint)entry.Children.Values.Count(c => c.IsDirectory) : 1u;
}
