using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Infrastructure;

[Trait("Tier", "Fast")]
public class BackupTaskTests
{
    private sealed class Hungry : BackupTask
    {
        protected override bool Run() => throw new OutOfMemoryException();
    }

    [Fact]
    public void Running_out_of_memory_is_a_coded_error_naming_the_task_not_a_stack_trace()
    {
        var engine = new FakeBuildEngine();
        var task = new Hungry { BuildEngine = engine };

        Assert.False(task.Execute());

        Assert.Equal(new[] { "BKP1501" }, engine.ErrorCodes);
        Assert.Contains("Hungry ran out of memory", engine.AllText);
        Assert.DoesNotContain("   at ", engine.AllText);
    }
}
