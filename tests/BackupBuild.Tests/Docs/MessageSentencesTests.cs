using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Docs;

/// <summary>
/// Every message of tasks/Strings.resx, rendered the way the tasks log it, ends each sentence once whatever its causes
/// end with: a cause ending with a period (.NET's exception messages) gives no "..", one without (ssh, rsync) runs into
/// no next sentence.
/// </summary>
[Trait("Tier", "Fast")]
public class MessageSentencesTests
{
    private const string Marker = "Qcause";

    private sealed class Probe : BackupTask
    {
        public Probe() { BuildEngine = new FakeBuildEngine(); }
        protected override bool Run() => true;
        public string Render(string name, object[] args) => Log.FormatResourceString(name, args);
    }

    private static IEnumerable<(string Name, string Template)> Strings() =>
        XDocument.Load(Path.Combine(Repo.Root, "tasks/Strings.resx")).Root!.Elements("data")
            .Select(d => ((string)d.Attribute("name")!, (string)d.Element("value")!));

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    [Fact]
    public void The_placeholders_before_a_period_are_those_the_regular_expression_it_replaced_finds()
    {
        // Sentences finds them in plain code (no Regex to build at start-up): the same indexes, in the same order, for every
        // message of Strings.resx and for shapes none of them has.
        var pattern = new Regex(@"(?<!\{)\{(\d+)(?:[,:][^}]*)?\}\.", RegexOptions.CultureInvariant);
        var templates = Strings().Select(s => s.Template).Concat(new[]
        {
            "", "{", "{0", "{0}", "{0}.", ".{0}.", "{{0}.", "{{{0}.", "{0}.{1}.", "{0}{1}.", "{0,5}.", "{0:N1}.", "{0:yyyy-MM-dd}. {1,-3:x}.",
            "{0,}.", "{0:}}.", "{0:.", "{:0}.", "{a}.", "{12}. {3}", "x {0}.. y", "{0} . {1}.\n", "{0:{1}}.", "{0}.{0}.{0}", "{٣}.",
        });
        foreach (var template in templates)
            Assert.Equal(pattern.Matches(template).Select(m => m.Groups[1].Value).ToList(), Sentences.PlaceholdersBeforePeriod(template));
    }

    [Fact]
    public void Every_message_ends_its_sentences_once_whether_a_cause_ends_with_a_period_or_not()
    {
        var probe = new Probe();
        var wrong = new List<string>();
        var checkedCount = 0;
        foreach (var (name, template) in Strings())
        {
            var arity = Regex.Matches(template, @"(?<!\{)\{(\d+)[^}]*\}").Select(m => int.Parse(m.Groups[1].Value) + 1).DefaultIfEmpty(0).Max();
            if (arity == 0) continue;
            checkedCount++;
            foreach (var cause in new[] { Marker, Marker + ".", Marker + ".\n", Marker + " \r\n" })
            {
                var args = Enumerable.Repeat((object)cause, arity).ToArray();
                foreach (var rendered in new[] { probe.Render(name, args), BackupTask.Format(name, args) })
                {
                    if (Count(rendered, "..") > Count(template, ".."))
                        wrong.Add($"{name}: a doubled period with the cause \"{cause.Trim()}\": {rendered}");
                    if (Regex.IsMatch(rendered, Marker + @"\.?\s+\."))
                        wrong.Add($"{name}: a blank before the period: {rendered}");
                    if (Regex.IsMatch(rendered, Marker + @" [A-Z][a-z]"))
                        wrong.Add($"{name}: the cause runs into the next sentence: {rendered}");
                }
            }
        }
        Assert.True(checkedCount > 300, $"only {checkedCount} messages with arguments were read");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_causes_the_administrator_saw_read_as_sentences()
    {
        var probe = new Probe();
        Assert.Equal("BKP3050: Peer \"web1\" could not be reached at web1 port 22: ssh: connect to host web1 port 22: Connection refused. It was not staged.",
            probe.Render("Stage.RemoteUnreachable", ["web1", "web1", 22, "ssh: connect to host web1 port 22: Connection refused\n"]));
        var denied = new UnauthorizedAccessException("Access to the path '/var/backups/x' is denied.");
        var text = probe.Render("Collect.WriteFailed", ["/var/backups/x", "/etc", denied.Message]);
        Assert.Contains("is denied. The previous archive", text);
        Assert.Equal(text, BackupTask.Format("Collect.WriteFailed", "/var/backups/x", "/etc", denied));
        // A period inside a quoted name is the name's: only a cause right before the template's period is shaped.
        Assert.Contains("\"a.\"", BackupTask.Format("Collect.WriteFailed", "a.", "b", "c"));
    }
}
