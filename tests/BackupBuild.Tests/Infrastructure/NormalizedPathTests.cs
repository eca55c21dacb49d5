using BackupBuild.Tasks.Infrastructure;
using Xunit;

namespace BackupBuild.Tests.Infrastructure;

[Trait("Tier", "Fast")]
public class NormalizedPathTests
{
    [Theory]
    [InlineData("/", "_")]
    [InlineData("/srv/data/daily", "srv-data-daily")]
    [InlineData("/srv/data/single.conf", "srv-data-single.conf")]
    [InlineData("/.hidden/dir", "_hidden-dir")]
    [InlineData("/srv/with space/a:b", "srv-with_space-a_b")]
    public void Matches_cedar_backup(string path, string expected) =>
        Assert.Equal(expected, NormalizedPath.From(path));
}
