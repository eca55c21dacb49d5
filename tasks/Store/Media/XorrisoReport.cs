using System.Globalization;
using System.Text.RegularExpressions;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>The facts xorriso's -toc, -print_size and -tell_media_space print, one "Name : value" line each.</summary>
public sealed record XorrisoReport(bool Blank, bool Appendable, string? VolumeId, int Sessions, long? NextWritableBlock,
    long? ImageBlocks, long? FreeBlocks, string? Media)
{
    private static readonly Regex Line = new(@"^(?<name>[A-Za-z][A-Za-z ]*?)\s*:\s(?<value>.*)$", RegexOptions.CultureInvariant);

    public static XorrisoReport Parse(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var m = Line.Match(line);
            if (m.Success) values[m.Groups["name"].Value] = m.Groups["value"].Value.Trim();
        }
        var status = values.GetValueOrDefault("Media status") ?? "";
        var summary = values.GetValueOrDefault("Media summary") ?? "";
        var sessions = Regex.Match(summary, @"^(\d+) session");
        var volume = values.GetValueOrDefault("Volume id");
        return new XorrisoReport(
            Blank: status.Contains("is blank", StringComparison.Ordinal),
            Appendable: status.Contains("is blank", StringComparison.Ordinal) || status.Contains("is appendable", StringComparison.Ordinal),
            VolumeId: volume is { Length: >= 2 } && volume[0] == '\'' && volume[^1] == '\'' ? volume[1..^1] : volume,
            Sessions: sessions.Success ? int.Parse(sessions.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            NextWritableBlock: Blocks(values.GetValueOrDefault("Media nwa")),
            ImageBlocks: Blocks(values.GetValueOrDefault("Image size")),
            FreeBlocks: Blocks(values.GetValueOrDefault("Media space")),
            Media: values.GetValueOrDefault("Media current"));
    }

    /// <summary>"160s" → 160.</summary>
    private static long? Blocks(string? value) =>
        value != null && Regex.Match(value, @"^(\d+)s\b") is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
}
