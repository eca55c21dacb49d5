using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Deploy;

[Trait("Tier", "Fast")]
public class DeployTargetsTests
{
    /// <summary>MSBuild lets a later target of the same name replace an earlier one silently: deploy.targets must not.</summary>
    [Fact]
    public void Deploy_targets_do_not_redefine_a_target_of_another_targets_file()
    {
        static IEnumerable<string> Names(string file) =>
            Regex.Matches(File.ReadAllText(file), "<Target Name=\"([^\"]+)\"").Select(m => m.Groups[1].Value);
        var deploy = Names(Path.Combine(Repo.Targets, "deploy.targets")).ToList();
        Assert.Equal(deploy.Count, deploy.Distinct().Count());
        var others = Directory.GetFiles(Repo.Targets, "*.targets", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "deploy.targets").SelectMany(Names).ToHashSet();
        Assert.Empty(deploy.Where(others.Contains));
    }

    [Fact]
    public void The_requested_targets_are_read_from_every_spelling_of_the_target_switch()
    {
        Assert.Equal(["Stage", "Store", "Purge"],
            BackupBuild.Tasks.Deploy.WriteRunLog.RequestedTargets(["msbuild.dll", "backup.proj", "-t:Stage;Store", "/target:Purge", "-p:X=1", "--t:Stage"]));
        Assert.Empty(BackupBuild.Tasks.Deploy.WriteRunLog.RequestedTargets(["backup.proj", "-v:m"]));
    }
}
