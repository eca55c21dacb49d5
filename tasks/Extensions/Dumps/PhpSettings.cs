using System.Text.RegularExpressions;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>Reading plain string settings from PHP configuration files without running PHP.</summary>
internal static class PhpSettings
{
    // Commented-out settings (a common way to keep an old value) must not win.
    public static string StripComments(string php) =>
        Regex.Replace(php, @"/\*.*?\*/|(?m)^[ \t]*(//|#)[^\n]*", "", RegexOptions.Singleline);

    public static string Unescape(string quoted) => Regex.Replace(quoted, @"\\(.)", "$1");

    private static readonly Regex Assignment = new(
        @"\$(?<name>wg[A-Za-z]+)\s*=\s*(?:'(?<single>(?:[^'\\]|\\.)*)'|""(?<double>(?:[^""\\$]|\\.)*)"")\s*;",
        RegexOptions.CultureInvariant);

    /// <summary>Every $wgName = 'value'; (or "value" without variables) in the file; the last one wins, as in PHP.</summary>
    public static Dictionary<string, string> Variables(string php)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Assignment.Matches(StripComments(php)))
            values[m.Groups["name"].Value] = Unescape(m.Groups["single"].Success ? m.Groups["single"].Value : m.Groups["double"].Value);
        return values;
    }
}
