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
        RegexOptions.CultureInvariant | RegexOptions.Singleline);

    /// <summary>
    /// The settings (every DB_ define, as PHP reads the string), or the names of the required ones missing.
    /// The values are not checked here: the caller checks them with <see cref="SiteValues"/>.
    /// </summary>
    public static (IReadOnlyDictionary<string, string>? Values, IReadOnlyList<string> Missing) Parse(string php)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Define.Matches(PhpSettings.StripComments(php)))
            values[m.Groups["key"].Value] = PhpSettings.Value(m);
        var missing = Required.Where(k => !values.ContainsKey(k)).ToList();
        return (missing.Count > 0 ? null : values, missing);
    }

    /// <summary>The database of checked settings.</summary>
    public static SiteDatabase Database(IReadOnlyDictionary<string, string> values) =>
        SiteDatabase.FromHostValue(values["DB_NAME"], values["DB_USER"], values["DB_PASSWORD"], values["DB_HOST"]);
}
