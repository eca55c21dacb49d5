using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>Reading plain string settings from PHP configuration files without running PHP.</summary>
internal static class PhpSettings
{
    // Commented-out settings (a common way to keep an old value) must not win.
    public static string StripComments(string php) =>
        Regex.Replace(php, @"/\*.*?\*/|(?m)^[ \t]*(//|#)[^\n]*", "", RegexOptions.Singleline);

    /// <summary>
    /// The value of a PHP string literal (without its quotes), exactly as PHP reads it. Single quotes: only \\ and \'
    /// are escapes, any other backslash stays. Double quotes: \n \t \r \v \e \f \\ \$ \", octal \0-\777, \xHH and
    /// \u{…}; any other backslash stays. Escapes give bytes, read as UTF-8 with the rest, as PHP strings are bytes.
    /// </summary>
    public static string Unescape(string quoted, bool doubleQuoted)
    {
        if (!doubleQuoted) return Regex.Replace(quoted, @"\\([\\'])", "$1");
        var bytes = new List<byte>();
        void Text(string s) => bytes.AddRange(Encoding.UTF8.GetBytes(s));
        var i = 0;
        while (i < quoted.Length)
        {
            var c = quoted[i];
            if (c != '\\' || i + 1 == quoted.Length)
            {
                var start = i++;
                if (char.IsHighSurrogate(c) && i < quoted.Length) i++;
                Text(quoted[start..i]);
                continue;
            }
            var e = quoted[i + 1];
            i += 2;
            switch (e)
            {
                case 'n': bytes.Add(10); break;
                case 't': bytes.Add(9); break;
                case 'r': bytes.Add(13); break;
                case 'v': bytes.Add(11); break;
                case 'e': bytes.Add(27); break;
                case 'f': bytes.Add(12); break;
                case '\\' or '$' or '"': bytes.Add((byte)e); break;
                case >= '0' and <= '7':
                {
                    var end = i - 1;
                    while (end < quoted.Length && end < i + 2 && quoted[end] is >= '0' and <= '7') end++;
                    bytes.Add((byte)Convert.ToInt32(quoted[(i - 1)..end], 8));
                    i = end;
                    break;
                }
                case 'x' when i < quoted.Length && Uri.IsHexDigit(quoted[i]):
                {
                    var end = i;
                    while (end < quoted.Length && end < i + 2 && Uri.IsHexDigit(quoted[end])) end++;
                    bytes.Add(byte.Parse(quoted[i..end], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i = end;
                    break;
                }
                case 'u' when Regex.Match(quoted[i..], @"^\{([0-9A-Fa-f]+)\}") is { Success: true } m
                              && int.TryParse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var cp)
                              && cp <= 0x10FFFF:
                    // PHP encodes the code point as UTF-8 whatever it is (surrogates included); so do we, for those in range.
                    if (cp is >= 0xD800 and <= 0xDFFF) Text("\uFFFD"); else Text(char.ConvertFromUtf32(cp));
                    i += m.Length;
                    break;
                default:
                    bytes.Add((byte)'\\');
                    i--;
                    break;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static readonly Regex Assignment = new(
        @"\$(?<name>wg[A-Za-z]+)\s*=\s*(?:'(?<single>(?:[^'\\]|\\.)*)'|""(?<double>(?:[^""\\$]|\\.)*)"")\s*;",
        RegexOptions.CultureInvariant | RegexOptions.Singleline);

    /// <summary>The value of a matched 'single' or "double" group.</summary>
    public static string Value(Match m) =>
        m.Groups["single"].Success ? Unescape(m.Groups["single"].Value, doubleQuoted: false) : Unescape(m.Groups["double"].Value, doubleQuoted: true);

    /// <summary>Every $wgName = 'value'; (or "value" without variables) in the file; the last one wins, as in PHP.</summary>
    public static Dictionary<string, string> Variables(string php)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Assignment.Matches(StripComments(php)))
            values[m.Groups["name"].Value] = Value(m);
        return values;
    }
}
