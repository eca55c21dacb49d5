using System.Text.RegularExpressions;

namespace BackupBuild.Tasks.Extensions.Wordpress;

/// <summary>
/// The database settings of a WordPress site, read from its wp-config.php without running PHP:
/// the define('DB_NAME', '…') lines that WordPress's installer writes. Values built by PHP
/// expressions (getenv(), concatenation) are not understood and reported.
/// </summary>
internal sealed record WordpressConfig(string Name, string User, string Password, string? Host, int? Port, string? Socket)
{
    public static readonly string[] Required = { "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST" };

    private static readonly Regex Define = new(
        @"define\s*\(\s*(['""])(?<key>DB_[A-Z]+)\1\s*,\s*(?:'(?<single>(?:[^'\\]|\\.)*)'|""(?<double>(?:[^""\\$]|\\.)*)"")\s*\)",
        RegexOptions.CultureInvariant);

    /// <summary>The settings, or the names of the ones missing.</summary>
    public static (WordpressConfig? Config, IReadOnlyList<string> Missing) Parse(string php)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Define.Matches(StripComments(php)))
        {
            var raw = m.Groups["single"].Success ? m.Groups["single"].Value : m.Groups["double"].Value;
            values[m.Groups["key"].Value] = Regex.Replace(raw, @"\\(.)", "$1");
        }
        var missing = Required.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0) return (null, missing);
        var (host, port, socket) = SplitHost(values["DB_HOST"]);
        return (new WordpressConfig(values["DB_NAME"], values["DB_USER"], values["DB_PASSWORD"], host, port, socket), missing);
    }

    // WordPress's DB_HOST: "host", "host:port" or "host:/path/to/socket" (mysqli's forms).
    private static (string? Host, int? Port, string? Socket) SplitHost(string value)
    {
        var colon = value.IndexOf(':');
        if (colon < 0) return (Nullable(value), null, null);
        var host = Nullable(value[..colon]);
        var rest = value[(colon + 1)..];
        if (rest.StartsWith('/')) return (host ?? "localhost", null, rest);
        return int.TryParse(rest, out var port) ? (host, port, null) : (Nullable(value), null, null);
    }

    private static string? Nullable(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    // Commented-out defines (a common way to keep an old setting) must not win.
    private static string StripComments(string php) =>
        Regex.Replace(php, @"/\*.*?\*/|(?m)^[ \t]*(//|#)[^\n]*", "", RegexOptions.Singleline);

    /// <summary>A [client] option file for these settings (it holds the password: write it mode 0600).</summary>
    public string OptionsFileText()
    {
        var lines = new List<string> { "[client]", "user=" + Quote(User), "password=" + Quote(Password) };
        if (Host != null) lines.Add("host=" + Quote(Host));
        if (Port != null) lines.Add("port=" + Port);
        if (Socket != null) lines.Add("socket=" + Quote(Socket));
        return string.Join("\n", lines) + "\n";
    }

    // Option-file values in double quotes, with \ and " escaped, keep #, ; and spaces literal.
    private static string Quote(string v) => "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
