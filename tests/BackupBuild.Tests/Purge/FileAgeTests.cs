using BackupBuild.Tasks.Purge;
using Xunit;

namespace BackupBuild.Tests.Purge;

[Trait("Tier", "Fast")]
public class FileAgeTests
{
    private static readonly DateTime Now = new(2026, 12, 8, 1, 0, 0, DateTimeKind.Utc);
    private static long NowSeconds => new DateTimeOffset(Now).ToUnixTimeSeconds();

    [Theory]
    [InlineData(0, 0)]
    [InlineData(86_399, 0)]
    [InlineData(86_400, 1)]
    [InlineData(7 * 86_400 + 300, 7)]
    [InlineData(7 * 86_400 - 1, 6)]
    [InlineData(-3_600, 0)] // from the future: clamped to 0
    public void Whole_days_since_last_use(int secondsAgo, long days)
    {
        var t = Now.AddSeconds(-secondsAgo);
        Assert.Equal(days, FileAge.WholeDays(t, t, NowSeconds));
    }

    [Fact]
    public void The_later_of_access_and_write_time_counts()
    {
        Assert.Equal(2, FileAge.WholeDays(Now.AddDays(-2.5), Now.AddDays(-30), NowSeconds));
        Assert.Equal(2, FileAge.WholeDays(Now.AddDays(-30), Now.AddDays(-2.5), NowSeconds));
    }

    [Fact]
    public void A_fraction_of_a_second_after_the_boundary_is_still_the_younger_day()
    {
        // Cedar: floor((int(now) - 1234.5) / 86400) with a last use half a second after now − 1 day.
        var t = Now.AddDays(-1).AddMilliseconds(500);
        Assert.Equal(0, FileAge.WholeDays(t, t, NowSeconds));
    }

    [Theory]
    [InlineData(6, 7, true)]
    [InlineData(7, 7, false)]
    [InlineData(0, 0, false)]
    [InlineData(0, 1, true)]
    public void Kept_while_younger_than_RetainDays(long age, int retain, bool kept) =>
        Assert.Equal(kept, FileAge.IsKept(age, retain));
}
