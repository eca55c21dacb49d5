using System.Text.RegularExpressions;
using BackupBuild.Tasks.Extensions.Dumps;

namespace BackupBuild.Tasks.Extensions.Wordpress;

/// <summary>
/// The database settings of a WordPress site, read from its wp-config.php without running PHP:
/// the define('DB_NAME', '…') lines that WordPress's installer writes. Values built by PHP
/// expressions (getenv(), concatenation) are not understood and reported.
/// </summary>
internal static class WordpressConfig
{
    public static readonly string[] Required = { "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST" };

    private static readonly Regex Define = new(
        @"define\s*\(\s*(['""])(?<key>DB_[A-Z]+)\1\s*,\s*(?:'(?<single>(?:[^'\\]|\\.)*)'|""(?<double>(?:[^""\\$]|\\.)*)"")\s*\)",
        RegexOptions.CultureInvariant);

    /// <summary>The settings, or the names of the ones missing.</summary>
    public static (SiteDatabase? Config, IReadOnlyList<string> Missing) Parse(string php)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Define.Matches(PhpSettings.StripComments(php)))
        {
            var raw = m.Groups["single"].Success ? m.Groups["single"].Value : m.Groups["double"].Value;
            values[m.Groups["key"].Value] = PhpSettings.Unescape(raw);
        }
        var missing = Required.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0) return (null, missing);
        return (SiteDatabase.FromHostValue(values["DB_NAME"], values["DB_USER"], values["DB_PASSWORD"], values["DB_HOST"]), missing);
    }
}
