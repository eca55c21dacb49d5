using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>An image BackupBuild cannot read is never appended to, and a new disc replaces it.</summary>
[Trait("Tier", "Fast")]
public class DamagedImageTests
{
    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void Store_refuses_to_append_to_a_damaged_image_and_a_new_disc_replaces_it(string damage)
    {
        using var rig = new MediaRig();
        rig.StageDay("2026-11-23", seed: 1);
        Assert.True(rig.Store("2026-11-23T01:00"), rig.Engine.AllText);
        if (damage == "garbage") File.WriteAllText(rig.Image, "not an image at all, just some text that is long enough");
        else
            using (var stream = new FileStream(rig.Image, FileMode.Open)) stream.SetLength(stream.Length / 2);
        var before = File.ReadAllBytes(rig.Image);

        rig.StageDay("2026-11-24", seed: 2);
        Assert.False(rig.Store("2026-11-24T01:00"));
        Assert.Equal(new[] { "BKP4117" }, rig.Engine.ErrorCodes);
        Assert.Equal(before, File.ReadAllBytes(rig.Image));

        Assert.True(rig.Store("2026-11-24T01:30", ("Full", "true")), rig.Engine.AllText);
        Assert.Single(MediumReaders.Sessions(rig.Image));
        Assert.True(rig.Initialize("2026-11-24T02:00"), rig.Engine.AllText);
    }
}
