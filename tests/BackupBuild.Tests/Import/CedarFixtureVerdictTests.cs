using System.Text.RegularExpressions;
using BackupBuild.Tasks.Import;
using BackupBuild.Tasks.Infrastructure;
using Xunit;

namespace BackupBuild.Tests.Import;

/// <summary>
/// Every configuration in shared/fixtures/cedar-config gets the verdict the real Cedar Backup 3.7.4 gave it
/// (mutations/EXPECTED.md, classification.md): accepted files pass, rejected ones fail with a BKP85xx code
/// that names the element.
/// </summary>
[Trait("Tier", "Fast")]
public class CedarFixtureVerdictTests
{
    public static string Fixtures => Path.GetFullPath(Path.Combine(Support.Repo.Root, "..", "shared", "fixtures", "cedar-config"));

    private static readonly Dictionary<string, string> Sections = new()
    {
        ["amazons3"] = "amazons3", ["capacity"] = "capacity", ["encrypt"] = "encrypt", ["mbox"] = "mbox",
        ["mysql"] = "mysql", ["postgresql"] = "postgresql", ["split"] = "split", ["subversion"] = "subversion",
    };

    /// <summary>(relative path, Cedar accepts it, the section checked by an extension's LocalConfig or null).</summary>
    public static IEnumerable<object?[]> AllFixtures()
    {
        var expected = File.ReadAllText(Path.Combine(Fixtures, "mutations", "EXPECTED.md"));
        var mutations = Regex.Matches(expected, @"^\| (\d{3}-[^ |]+\.xml) \| (ACCEPT|REJECT)", RegexOptions.Multiline);
        Assert.Equal(82, mutations.Count);
        foreach (Match m in mutations)
            yield return new object?[] { "mutations/" + m.Groups[1].Value, m.Groups[2].Value == "ACCEPT", null };

        var accepted = new[] { 1, 15, 20, 21 };
        for (var n = 1; n <= 23; n++)
            yield return new object?[] { $"upstream-tests-data/cback.conf.{n}", accepted.Contains(n), null };
        var files = Directory.GetFiles(Path.Combine(Fixtures, "upstream-tests-data"), "*.conf.*")
            .Select(Path.GetFileName).Where(f => !f!.StartsWith("cback.conf.")).OrderBy(f => f).ToList();
        Assert.Equal(58 - 23, files.Count);
        foreach (var f in files)
        {
            var ext = f!.Split('.')[0];
            // <ext>.conf.1 is an empty document ("<X> section is required."); the others are valid.
            yield return new object?[] { "upstream-tests-data/" + f, !f.EndsWith(".conf.1"), Sections[ext] };
        }
        yield return new object?[] { "cback3.conf.sample", true, null };
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public void Our_verdict_is_cedars(string relative, bool cedarAccepts, string? section)
    {
        var path = Path.Combine(Fixtures, relative);
        var problems = new Problems();
        var document = CedarXml.Load(path, problems);
        if (document != null)
        {
            if (section == null) CedarConfig.Read(document, problems);
            else CedarConfig.ValidateExtensionSection(document, section, problems);
        }
        var errors = problems.All.Where(p => !p.IsWarning).Select(p => p.ToString()).ToList();
        if (cedarAccepts)
        {
            Assert.True(errors.Count == 0, relative + " is accepted by Cedar but we reject it:\n" + string.Join("\n", errors));
            return;
        }
        Assert.True(errors.Count > 0, relative + " is rejected by Cedar but we accept it");
        foreach (var e in errors)
        {
            Assert.Matches(@"^BKP85\d\d: ", e);
            // Each error names the element at fault (its path in the file) or the file for XML errors.
            Assert.True(e.Contains("cb_config") || e.Contains(path), relative + ": the error names no element: " + e);
        }
    }

    [Theory]
    [InlineData("002-starting_day-capitalized.xml", "cb_config/options/starting_day")]
    [InlineData("013-managed_actions-uppercase.xml", "cb_config/options/managed_actions")]
    [InlineData("028-peer-duplicate-name.xml", "machine1-1")]
    [InlineData("031-peer-collect_dir-missing.xml", "<collect_dir>")]
    [InlineData("042-collect-exclude-pattern-invalid-regex.xml", "*tmp(")]
    [InlineData("044-collect-dir-link_depth-negative.xml", "link_depth")]
    [InlineData("054-store-media-device-mismatch.xml", "cb_config/store/media_type")]
    [InlineData("062-store-scsi_id-invalid.xml", "cb_config/store/target_scsi_id")]
    [InlineData("073-store-blank-empty-section.xml", "cb_config/store/blank_behavior")]
    [InlineData("078-purge-abs_path-relative.xml", "cb_config/purge/dir")]
    [InlineData("079-xml-malformed-unclosed-tag.xml", "BKP8504")]
    [InlineData("081-xml-wrong-root-element-closed.xml", "BKP8506")]
    public void A_rejection_names_the_element(string file, string expected)
    {
        var problems = new Problems();
        var document = CedarXml.Load(Path.Combine(Fixtures, "mutations", file), problems);
        if (document != null) CedarConfig.Read(document, problems);
        var text = string.Join("\n", problems.All.Where(p => !p.IsWarning));
        Assert.Contains(expected, text);
    }

    [Fact]
    public void The_sample_configuration_passes_every_extension_section_cedar_accepts()
    {
        foreach (var section in new[] { "mysql", "postgresql", "subversion", "mbox", "encrypt" })
        {
            var problems = new Problems();
            var document = CedarXml.Load(Path.Combine(Fixtures, "cback3.conf.sample"), problems)!;
            CedarConfig.ValidateExtensionSection(document, section, problems);
            Assert.False(problems.HasErrors, section + ": " + string.Join("\n", problems.All));
        }
        foreach (var section in new[] { "split", "capacity", "amazons3" })
        {
            var problems = new Problems();
            var document = CedarXml.Load(Path.Combine(Fixtures, "cback3.conf.sample"), problems)!;
            CedarConfig.ValidateExtensionSection(document, section, problems);
            Assert.True(problems.HasErrors, section);
        }
    }
}
