using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Purge;

/// <summary>
/// What a client's Purge must not remove from its collect dir: files no master has staged yet
/// (no <c>cback.stage</c> that vouches for the collect and is not older than the file, see
/// <see cref="CollectDirStaging"/>). Their archive never reached the master and may be the only copy
/// of the changes in it; a weekly archive that was never staged is kept until it is. The vouching
/// <c>cback.stage</c> itself is kept too: it is how the next Collect knows the master took the last one.
/// With PurgeUnstagedCollect=true they are purged by RetainDays alone, with a warning naming them.
/// </summary>
public static class UnstagedCollect
{
    private const int MaxNamed = 10;

    /// <summary>
    /// The full paths Purge must keep in <paramref name="collectDir"/>, after logging the warning that names the
    /// files RetainDays would have removed (BKP5100), or, when <paramref name="purgeAnyway"/>, the warning that
    /// they go (BKP5101) and an empty set.
    /// </summary>
    public static IReadOnlySet<string> Hold(string collectDir, int retainDays, long nowUnixSeconds, bool purgeAnyway, TaskLoggingHelper log)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        var names = Posix.ReadDirectory(collectDir, out _);
        if (names == null) return held; // a missing or unreadable folder is reported by the purge itself
        var staging = CollectDirStaging.Read(collectDir);
        var waiting = new List<(string Name, DateTimeOffset Written)>();
        foreach (var raw in names)
        {
            var name = PosixPath.Decode(raw);
            var path = Path.Combine(collectDir, name);
            if (Posix.LStat(path, out _) is not { IsRegular: true } st) continue;
            if (name == Indicators.Stage)
            {
                if (staging.Vouches) held.Add(path);
                continue;
            }
            if (name.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal) || staging.Covers(st)) continue;
            var age = FileAge.WholeDays(DateTime.UnixEpoch.AddSeconds(st.AtimeSeconds),
                DateTime.UnixEpoch.AddTicks(st.MtimeSeconds * TimeSpan.TicksPerSecond + st.MtimeNanos / 100), nowUnixSeconds);
            if (FileAge.IsKept(age, retainDays)) continue; // RetainDays keeps it anyway
            held.Add(path);
            if (!Indicators.IsIndicator(name)) waiting.Add((name, st.ModificationTime));
        }
        if (waiting.Count == 0)
        {
            // Only indicators wait (a cback.collect with nothing else): keep them quietly unless told otherwise.
            if (purgeAnyway) DropStale(collectDir, staging, held);
            return held;
        }

        waiting.Sort((a, b) => a.Written.CompareTo(b.Written));
        var since = Local(waiting[0].Written);
        var list = string.Join(", ", waiting.Take(MaxNamed).Select(w => $"{w.Name} (written {Local(w.Written)})")) +
                   (waiting.Count > MaxNamed ? $" and {waiting.Count - MaxNamed} more" : "");
        if (!purgeAnyway)
        {
            log.LogWarningWithCodeFromResources("Purge.KeptUnstaged", collectDir, waiting.Count, since, list);
            return held;
        }

        log.LogWarningWithCodeFromResources("Purge.PurgingUnstaged", collectDir, waiting.Count, since, list);
        DropStale(collectDir, staging, held);
        return held;
    }

    /// <summary>
    /// Purging anyway: nothing is held but a vouching cback.stage, and a stale cback.stage goes first, before
    /// cback.collect does: alone it would tell the next Collect the master took these files, and that Collect
    /// would not carry their changes.
    /// </summary>
    private static void DropStale(string collectDir, CollectDirStaging staging, HashSet<string> held)
    {
        if (held.Count == 0) return;
        if (staging is { StageIndicator: not null, Vouches: false }) File.Delete(Path.Combine(collectDir, Indicators.Stage));
        held.RemoveWhere(p => Path.GetFileName(p) != Indicators.Stage);
    }

    private static string Local(DateTimeOffset t) => t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
