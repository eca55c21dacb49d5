using System.Text.RegularExpressions;

namespace BackupBuild.Tests.Support;

/// <summary>
/// The code blocks of the manual that a test runs verbatim: each follows a line
/// <c>&lt;!-- netns-test: NAME [(machine machine…)] --&gt;</c> (blank lines between are allowed) and is either an
/// indented block or a fenced one, at any list indentation; the text comes back without that indentation.
/// </summary>
public sealed class DocBlocks
{
    public sealed record Block(string Page, string Name, string[] Machines, string Text);

    private static readonly Regex Marker = new(@"^\s*<!-- netns-test: (?<name>[^(]+?)\s*(\((?<machines>[^)]*)\))?\s*-->\s*$");

    private readonly List<Block> _blocks = new();

    public DocBlocks(params string[] pages)
    {
        foreach (var page in pages) Read(page);
    }

    public IReadOnlyList<Block> All => _blocks;

    public Block this[string name] => _blocks.SingleOrDefault(b => b.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"no block marked <!-- netns-test: {name} --> in the manual");

    public IEnumerable<Block> Named(string name)
    {
        var found = _blocks.Where(b => b.Name == name).ToList();
        if (found.Count == 0) throw new Xunit.Sdk.XunitException($"no block marked <!-- netns-test: {name} --> in the manual");
        return found;
    }

    private void Read(string page)
    {
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, page));
        for (var i = 0; i < lines.Length; i++)
        {
            var m = Marker.Match(lines[i]);
            if (!m.Success) continue;
            var j = i + 1;
            while (j < lines.Length && lines[j].Trim().Length == 0) j++;
            if (j == lines.Length) throw new Xunit.Sdk.XunitException($"{page}: the marker on line {i + 1} has no block after it");
            var body = new List<string>();
            var first = lines[j];
            var indent = first.Length - first.TrimStart().Length;
            if (first.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                for (j++; j < lines.Length && !lines[j].TrimStart().StartsWith("```", StringComparison.Ordinal); j++) body.Add(lines[j]);
            }
            else
            {
                for (; j < lines.Length; j++)
                {
                    var line = lines[j];
                    if (line.Trim().Length > 0 && line.Length - line.TrimStart().Length < indent) break;
                    body.Add(line);
                }
                while (body.Count > 0 && body[^1].Trim().Length == 0) body.RemoveAt(body.Count - 1);
            }
            if (body.Count == 0) throw new Xunit.Sdk.XunitException($"{page}: the block after line {i + 1} is empty");
            var text = string.Join("\n", body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())) + "\n";
            var machines = m.Groups["machines"].Success
                ? m.Groups["machines"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
            _blocks.Add(new Block(page, m.Groups["name"].Value, machines, text));
        }
    }
}
