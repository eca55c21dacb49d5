using BackupBuild.Tasks.Store;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>Cedar Backup's capacity and new-disc rules, with the figures of its own code.</summary>
[Trait("Tier", "Fast")]
public class MediaRulesTests
{
    private static MediaType Media(string name) => MediaType.Find(name)!;

    [Theory]
    [InlineData("cdr-74", true, 0, 658_227_200)] // 332,800 − 11,400 sectors
    [InlineData("cdrw-80", true, 0, 710_656_000)] // 358,400 − 11,400 sectors
    [InlineData("cdr-74", false, 176, 667_082_752)] // 332,800 − 176 − 6,900: more than a new disc, Cedar's quirk
    [InlineData("dvd+rw", true, 0, 4_724_464_025)] // 4.4 GiB
    [InlineData("dvd+r", false, 1000, 4_724_464_025 - 1000 * 2048)]
    [InlineData("image", true, 0, 10_000_000)]
    [InlineData("image", false, 64, 10_000_000 - 64 * 2048)]
    public void Capacity_left_follows_cedar(string media, bool newDisc, long nextBlock, long expected) =>
        Assert.Equal(expected, MediaCapacity.Available(Media(media), 10_000_000, newDisc, nextBlock));

    [Fact]
    public void Full_and_the_starting_day_start_a_new_disc_without_blank_behaviour()
    {
        (long, long) Never() => throw new InvalidOperationException("no measuring needed");
        Assert.True(NewDiscRule.Decide(true, false, null, Never).NewDisc);
        Assert.True(NewDiscRule.Decide(false, true, null, Never).NewDisc);
        Assert.False(NewDiscRule.Decide(false, false, null, Never).NewDisc);
        Assert.False(NewDiscRule.Decide(false, false, new BlankBehavior(Daily: false, 1.0), Never).NewDisc); // weekly mode, midweek
    }

    [Theory]
    [InlineData(true, false, 1000, 999, 1.0, true)] // daily mode: 1000 / 1000 = 1.0 ≤ 1.0
    [InlineData(true, false, 5000, 999, 1.0, false)] // 5.0 > 1.0: keep appending
    [InlineData(false, true, 1000, 999, 1.0, true)] // weekly mode on the starting day
    [InlineData(false, true, 9000, 999, 1.0, false)] // weekly mode on the starting day with room left: no new disc (as Cedar)
    public void The_blank_factor_decides_on_its_days(bool daily, bool startOfWeek, long available, long required, double factor, bool expected) =>
        Assert.Equal(expected, NewDiscRule.Decide(false, startOfWeek, new BlankBehavior(daily, factor), () => (available, required)).NewDisc);

    [Fact]
    public void A_daily_blank_factor_starts_a_new_image_when_the_next_day_would_not_fit_well()
    {
        using var rig = new MediaRig();
        rig.Properties["ImageCapacity"] = "1 MB";
        rig.Properties["BlankMode"] = "daily";
        rig.Properties["BlankFactor"] = "1.5";
        rig.StageDay("2026-11-24", 200, 1); // a Tuesday: the image is blank, so a new one anyway
        Assert.True(rig.Store("2026-11-24T01:00"), rig.Engine.AllText);
        rig.StageDay("2026-11-25", 200, 2); // about 700 KiB left for 200 KiB: 3.4 > 1.5, append
        Assert.True(rig.Store("2026-11-25T01:00"), rig.Engine.AllText);
        Assert.Contains("appending session 2", rig.Engine.AllText);
        rig.StageDay("2026-11-26", 300, 3); // about 450 KiB left for 300 KiB: 1.5 ≤ 1.5, a new image
        Assert.True(rig.Store("2026-11-26T01:00"), rig.Engine.AllText);
        Assert.Contains("the blank factor", rig.Engine.AllText);
        Assert.Single(MediumReaders.Sessions(rig.Image));
    }
}
