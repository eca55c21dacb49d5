using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>
/// Values read from a site's own configuration file (wp-config.php, LocalSettings.php, trac.ini). Whoever can
/// edit that file is less trusted than the backup, which runs as root: every such value is checked here before
/// it reaches an option file or a command line, and a refused one is a coded error naming the site, the file
/// and the setting, reported before any program runs or any file is written.
/// </summary>
internal static class SiteValues
{
    /// <summary>
    /// The longest value passed on, in UTF-8 bytes. MariaDB's client reads option files in lines of at most
    /// 4095 bytes and takes the rest of a longer line as a new line; a quoted, escaped value of 1024 bytes
    /// stays far below that.
    /// </summary>
    public const int MaxBytes = 1024;

    /// <summary>
    /// Null when <paramref name="value"/> can be passed on; else the reason it is refused (a control character,
    /// or too long), which <see cref="Check"/> reports.
    /// </summary>
    public static (string Resource, object[] Arguments)? Refusal(string value)
    {
        foreach (var c in value)
            if (IsRefused(c)) return ("Site.ControlCharacter", new object[] { "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) });
        var bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > MaxBytes) return ("Site.TooLong", new object[] { bytes, MaxBytes });
        return null;
    }

    /// <summary>
    /// True when the value of <paramref name="setting"/> read from <paramref name="file"/> of <paramref name="site"/>
    /// can be passed to a program; else a coded error goes to <paramref name="problems"/>.
    /// </summary>
    public static bool Check(string site, string file, string setting, string value, Problems problems)
    {
        if (Refusal(value) is not { } refused) return true;
        problems.Error(refused.Resource, new object[] { site, setting, file }.Concat(refused.Arguments).ToArray());
        return false;
    }

    /// <summary>Every setting of <paramref name="settings"/> checked (all reported); true when all can be passed on.</summary>
    public static bool CheckAll(string site, string file, IEnumerable<(string Setting, string Value)> settings, Problems problems) =>
        settings.Select(s => Check(site, file, s.Setting, s.Value, problems)).ToList().All(ok => ok);

    // C0 and C1 controls and DEL (line breaks, NUL, escape), and the Unicode line and paragraph separators.
    private static bool IsRefused(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
