using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Docs;

/// <summary>
/// docs/README.md is the manual's order: every page of docs/ is in it, every link resolves, each chapter opens with
/// what the reader has and ends with the next chapter, and a procedure is written in one page only.
/// </summary>
[Trait("Tier", "Fast")]
public class ManualTests
{
    private static string DocsDir => Path.Combine(Repo.Root, "docs");
    private static string Index => File.ReadAllText(Path.Combine(DocsDir, "README.md"));

    private static IEnumerable<string> Pages() =>
        System.IO.Directory.GetFiles(DocsDir, "*.md", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(DocsDir, p));

    /// <summary>The chapters, in reading order: the numbered entries of the index's "Chapters" part.</summary>
    private static List<string> Chapters()
    {
        var index = Index;
        var start = index.IndexOf("\n## Chapters", StringComparison.Ordinal);
        var end = index.IndexOf("\n## Reference", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docs/README.md has no \"## Chapters\" part followed by \"## Reference\"");
        return Regex.Matches(index[start..end], @"^\d+\. \[[^\]]+\]\(([^)#]+)\)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();
    }

    [Fact]
    public void Every_page_of_the_manual_is_in_its_reading_order_and_every_link_there_resolves()
    {
        var linked = Regex.Matches(Index, @"\]\(([^)#]+)(#[^)]*)?\)").Select(m => m.Groups[1].Value).ToList();
        foreach (var link in linked)
            Assert.True(File.Exists(Path.Combine(DocsDir, link)) || System.IO.Directory.Exists(Path.Combine(DocsDir, link)),
                $"docs/README.md links to {link}, which does not exist");
        var missing = Pages().Where(p => p != "README.md" && !linked.Contains(p)).ToList();
        Assert.True(missing.Count == 0, "pages not in docs/README.md: " + string.Join(", ", missing));
    }

    [Fact]
    public void Each_chapter_opens_with_what_the_reader_has_and_ends_with_the_next_chapter_in_reading_order()
    {
        var chapters = Chapters();
        Assert.True(chapters.Count >= 8, "docs/README.md lists only " + chapters.Count + " chapters");
        Assert.Equal(chapters.Distinct().Count(), chapters.Count);
        var wrong = new List<string>();
        for (var i = 0; i < chapters.Count; i++)
        {
            var page = chapters[i];
            var lines = File.ReadAllLines(Path.Combine(DocsDir, page)).Where(l => l.Trim().Length > 0).ToList();
            if (!lines[0].StartsWith("# ", StringComparison.Ordinal) || !lines[1].StartsWith("You have: ", StringComparison.Ordinal))
                wrong.Add($"{page} does not open (after its title) with \"You have: …\"");
            var next = i + 1 < chapters.Count
                ? Path.GetRelativePath(Path.GetDirectoryName(Path.Combine(DocsDir, page))!, Path.Combine(DocsDir, chapters[i + 1])).Replace('\\', '/')
                : Path.GetRelativePath(Path.GetDirectoryName(Path.Combine(DocsDir, page))!, Path.Combine(DocsDir, "README.md")).Replace('\\', '/') + "#reference";
            if (!lines[^1].StartsWith("Next: ", StringComparison.Ordinal) || !lines[^1].Contains("](" + next + ")", StringComparison.Ordinal))
                wrong.Add($"{page} does not end with \"Next: …({next})\" but with: {lines[^1]}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Every_link_of_every_page_leads_to_a_page_and_a_heading_that_exist()
    {
        var wrong = new List<string>();
        var pages = Pages().Select(p => Path.Combine(DocsDir, p)).Append(Path.Combine(Repo.Root, "README.md"));
        foreach (var page in pages)
        {
            foreach (Match m in Regex.Matches(File.ReadAllText(page), @"\]\(([^)\s]+)\)"))
            {
                var link = m.Groups[1].Value;
                if (Regex.IsMatch(link, "^[a-z]+:")) continue;
                var hash = link.IndexOf('#');
                var path = hash < 0 ? link : link[..hash];
                var target = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, path));
                var name = Path.GetRelativePath(Repo.Root, page);
                if (!File.Exists(target) && !System.IO.Directory.Exists(target)) { wrong.Add($"{name}: {link} does not exist"); continue; }
                if (hash >= 0 && target.EndsWith(".md", StringComparison.Ordinal) && !Anchors(target).Contains(link[(hash + 1)..]))
                    wrong.Add($"{name}: {link}: no such heading");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as '-'.</summary>
    private static HashSet<string> Anchors(string page)
    {
        var anchors = new HashSet<string>();
        var fenced = false;
        foreach (var line in File.ReadAllLines(page))
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
            if (fenced) continue;
            var m = Regex.Match(line, "^#{1,6} (.*)$");
            if (m.Success) anchors.Add(Regex.Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), @"[^\w\- ]", "").Replace(' ', '-'));
        }
        return anchors;
    }

    /// <summary>The code blocks of a page (indented or fenced), each as its trimmed non-empty lines.</summary>
    private static List<List<string>> CodeBlocks(string page)
    {
        var blocks = new List<List<string>>();
        List<string>? current = null;
        var fenced = false;
        var previousBlank = true;
        foreach (var line in File.ReadAllLines(page))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (fenced && current != null) { blocks.Add(current); current = null; }
                else current = new List<string>();
                fenced = !fenced;
                continue;
            }
            if (fenced) { if (line.Trim().Length > 0) current!.Add(line.Trim()); continue; }
            if (line.StartsWith("    ", StringComparison.Ordinal) && (previousBlank || current != null)
                && !Regex.IsMatch(line, @"^\s*([-*+]|\d+\.) "))
            {
                current ??= new List<string>();
                if (line.Trim().Length > 0) current.Add(line.Trim());
            }
            else if (line.Trim().Length > 0 && current != null) { blocks.Add(current); current = null; }
            previousBlank = line.Trim().Length == 0;
        }
        if (current != null) blocks.Add(current);
        return blocks.Where(b => b.Count > 0).ToList();
    }

    [Fact]
    public void No_procedure_is_written_in_two_pages()
    {
        var wrong = new List<string>();
        // The same code block of two lines or more in two pages is one procedure written twice: keep one, link to it.
        var seen = new Dictionary<string, string>();
        foreach (var page in Pages().Order(StringComparer.Ordinal))
        {
            foreach (var block in CodeBlocks(Path.Combine(DocsDir, page)).Where(b => b.Count >= 2))
            {
                var key = string.Join("\n", block);
                if (seen.TryGetValue(key, out var first) && first != page) wrong.Add($"{page} repeats a code block of {first}: {block[0]} …");
                else seen[key] = page;
            }
        }
        // Procedures that have one page of their own; other pages link to it.
        var owners = new (string Pattern, string[] Owners, string What)[]
        {
            (@"^dotnet pack sdk\b", ["deploy.md"], "making the package"),
            (@"-t:ImportCedarConfig\b", ["migrating-from-cedar-backup.md"], "importing a cback3.conf"),
            (@"^[\d*/,-]+(\s+[\d*/,-]+){3}\s+[\d*/,A-Za-z-]+\s+\S", ["cron.md", "deploy.md"], "cron lines"),
        };
        foreach (var page in Pages())
            foreach (var line in CodeBlocks(Path.Combine(DocsDir, page)).SelectMany(b => b))
                foreach (var (pattern, pageOwners, what) in owners)
                    if (Regex.IsMatch(line, pattern) && !pageOwners.Contains(page))
                        wrong.Add($"{page} writes out {what}, which {string.Join(" and ", pageOwners)} own: {line}");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
