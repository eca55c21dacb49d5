using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Whether the master took what a collect dir holds, from Cedar's indicators in it: Collect writes
/// <c>cback.collect</c> last, and a master's Stage (ours, or Cedar's over scp) writes <c>cback.stage</c>
/// there after copying every file. Times are change times (ctime): the client's own clock, which no
/// copy program or module can set back, so neither a master's clock nor a preserved mtime misleads.
///
/// A <c>cback.stage</c> vouches for the collect when it is not older than <c>cback.collect</c> (or
/// <c>cback.collect</c> is gone: Purge removes it once staged and keeps <c>cback.stage</c>). Collect
/// removes <c>cback.stage</c> first when it starts, so a stale one never vouches for new archives.
/// A file is staged when a vouching <c>cback.stage</c> is not older than the file.
/// </summary>
public sealed class CollectDirStaging
{
    private CollectDirStaging(PosixStat? stage, PosixStat? collect)
    {
        StageIndicator = stage;
        CollectIndicator = collect;
        Vouches = stage is { } s && (collect is not { } c || Ticks(s) >= Ticks(c));
    }

    /// <summary>The collect dir's cback.stage (a regular file), if any.</summary>
    public PosixStat? StageIndicator { get; }

    /// <summary>The collect dir's cback.collect (a regular file), if any.</summary>
    public PosixStat? CollectIndicator { get; }

    /// <summary>A master staged the collect dir after its last (complete) collect.</summary>
    public bool Vouches { get; }

    public static CollectDirStaging Read(string collectDir) => new(
        Regular(Path.Combine(collectDir, Indicators.Stage)), Regular(Path.Combine(collectDir, Indicators.Collect)));

    /// <summary>A file of the collect dir the master took: a vouching cback.stage is not older than it.</summary>
    public bool Covers(in PosixStat file) => Vouches && Ticks(StageIndicator!.Value) >= Ticks(file);

    /// <summary>The change time in nanoseconds since the epoch.</summary>
    public static long Ticks(in PosixStat s) => s.CtimeSeconds * 1_000_000_000L + s.CtimeNanos;

    private static PosixStat? Regular(string path) => Posix.LStat(path, out _) is { IsRegular: true } s ? s : null;

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link(string oldPath, string newPath);

    /// <summary>
    /// Puts a snapshot of <paramref name="source"/> at <paramref name="target"/> atomically: a hard link
    /// (files are only ever replaced by rename, so the link keeps the old contents), or a copy where
    /// links are not possible. Nothing is done when the target already is the source.
    /// </summary>
    public static void Snapshot(string source, string target)
    {
        if (Posix.LStat(source, out _) is { } s && Posix.LStat(target, out _) is { } t && s.Device == t.Device && s.Inode == t.Inode)
            return;
        var temp = AtomicFile.TempPathFor(target);
        if (link(source, temp) == 0)
        {
            try { File.Move(temp, target, overwrite: true); }
            catch { File.Delete(temp); throw; }
            return;
        }
        AtomicFile.Write(target, stream =>
        {
            using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            from.CopyTo(stream);
        });
    }
}
