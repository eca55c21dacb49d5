using System.Text;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>
/// The one writer of MySQL/MariaDB option files (my.cnf format) in BackupBuild. The client reads such a file
/// line by line: a line break in a value would start a new option or a [group] (plugin-dir=, result-file=,
/// !include), and a line longer than 4095 bytes is cut and its rest read as a new line. So a value with a
/// control character or longer than <see cref="SiteValues.MaxBytes"/> is never written (callers check with
/// <see cref="SiteValues"/> first and report it; this writer throws as a last guard). Every other value is
/// written in double quotes with \ and " escaped, which the client reads back exactly: #, ;, =, spaces at
/// either end, quotes and backslashes stay part of the value.
/// </summary>
internal static class MysqlOptionFile
{
    /// <summary>The text of a file with one [<paramref name="group"/>] holding <paramref name="options"/> in order.</summary>
    public static string Text(string group, IEnumerable<(string Name, string Value)> options)
    {
        var text = new StringBuilder();
        text.Append('[').Append(Checked(group, "group")).Append("]\n");
        foreach (var (name, value) in options)
        {
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new ArgumentException($"\"{name}\" is not an option name", nameof(options));
            text.Append(name).Append('=').Append(Quote(Checked(value, name))).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>A value in double quotes, \ and " escaped: how the client's option-file reader takes it literally.</summary>
    public static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Checked(string value, string what) =>
        SiteValues.Refusal(value) == null ? value
            : throw new ArgumentException($"The value of {what} cannot be written to an option file (control character or too long).");

    /// <summary>
    /// Writes <paramref name="text"/> to a new file in the temporary folder, created mode 0600 (the password is never
    /// readable by others, not even for a moment) and exclusively (O_EXCL: an existing file or link there is never
    /// followed). Returns its path; the caller removes it.
    /// </summary>
    public static string WriteTemporary(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), "bkp-site-" + Guid.NewGuid().ToString("N") + ".cnf");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(path, new UTF8Encoding(false), options))
            writer.Write(text);
        return path;
    }
}
