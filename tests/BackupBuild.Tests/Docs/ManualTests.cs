using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Docs;

/// <summary>docs/README.md is the manual's order: every page of docs/ is in it, and every link in it leads to a page.</summary>
[Trait("Tier", "Fast")]
public class ManualTests
{
    private static string DocsDir => Path.Combine(Repo.Root, "docs");

    [Fact]
    public void Every_page_of_the_manual_is_in_its_reading_order_and_every_link_there_resolves()
    {
        var index = File.ReadAllText(Path.Combine(DocsDir, "README.md"));
        var linked = Regex.Matches(index, @"\]\(([^)#]+)(#[^)]*)?\)").Select(m => m.Groups[1].Value).ToList();
        foreach (var link in linked)
            Assert.True(File.Exists(Path.Combine(DocsDir, link)) || System.IO.Directory.Exists(Path.Combine(DocsDir, link)),
                $"docs/README.md links to {link}, which does not exist");
        var pages = System.IO.Directory.GetFiles(DocsDir, "*.md", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(DocsDir, p))
            .Where(p => p != "README.md");
        var missing = pages.Where(p => !linked.Contains(p)).ToList();
        Assert.True(missing.Count == 0, "pages not in docs/README.md: " + string.Join(", ", missing));
    }
}
