namespace BackupBuild.Tasks.Store;

/// <summary>
/// When Store starts a new disc instead of appending (Cedar's actions/store.py _getNewDisc): always with Full;
/// without blank behaviour on the starting day; with it, on the days its mode names (every day, or the starting
/// day), when the room left divided by (1 + the session's size) is at most the factor.
/// </summary>
public static class NewDiscRule
{
    public sealed record Decision(bool NewDisc, string Reason);

    /// <param name="roomAndSession">Bytes left on the medium and bytes the session needs; asked only when the factor decides.</param>
    public static Decision Decide(bool full, bool startOfWeek, BlankBehavior? blank, Func<(long Available, long Required)> roomAndSession)
    {
        if (full) return new(true, "Full=true");
        if (blank == null) return new(startOfWeek, startOfWeek ? "today is the starting day" : "");
        if (!blank.Daily && !startOfWeek) return new(false, "");
        var (available, required) = roomAndSession();
        var ratio = available / (1.0 + required);
        return new(ratio <= blank.Factor,
            FormattableString.Invariant($"the blank factor: {available} bytes left / (1 + {required}) = {ratio:0.00} ≤ {blank.Factor}"));
    }
}
