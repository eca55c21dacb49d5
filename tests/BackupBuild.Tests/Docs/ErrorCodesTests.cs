using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Docs;

/// <summary>docs/errors.md lists every code the tasks can log, once, in order, and no code that none logs.</summary>
[Trait("Tier", "Fast")]
public class ErrorCodesTests
{
    [Fact]
    public void Every_code_in_the_strings_has_one_row_in_errors_md_and_the_rows_are_sorted()
    {
        var strings = File.ReadAllText(Path.Combine(Repo.Root, "tasks/Strings.resx"));
        var docs = File.ReadAllText(Path.Combine(Repo.Root, "docs/errors.md"));
        var logged = Regex.Matches(strings, @"<value>(BKP\d{4}):").Select(m => m.Groups[1].Value).ToList();
        // The targets log a few codes themselves with MSBuild's Error task.
        foreach (var targets in Directory.GetFiles(Path.Combine(Repo.Root, "targets"), "*.targets"))
            logged.AddRange(Regex.Matches(File.ReadAllText(targets), @"Code=""(BKP\d{4})""").Select(m => m.Groups[1].Value));
        // The Cake add-in (cake/) throws CakeExceptions whose messages start with their code.
        foreach (var source in Directory.GetFiles(Path.Combine(Repo.Root, "cake"), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
            logged.AddRange(Regex.Matches(File.ReadAllText(source), @"\$?""(BKP\d{4}):").Select(m => m.Groups[1].Value));
        // The run logger (logger/) writes a few into the run log itself.
        foreach (var source in Directory.GetFiles(Path.Combine(Repo.Root, "logger"), "*.cs"))
            logged.AddRange(Regex.Matches(File.ReadAllText(source), @"""(BKP\d{4}): ").Select(m => m.Groups[1].Value));
        var rows = Regex.Matches(docs, @"^\| (BKP\d{4}) \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(logged.Distinct().Order(), rows.Distinct().Order());
        Assert.Equal(rows.Distinct(), rows);
        Assert.Equal(rows.Order(StringComparer.Ordinal), rows);
    }
}
