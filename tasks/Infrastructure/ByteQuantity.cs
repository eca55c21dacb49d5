using System.Globalization;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Cedar Backup's byte quantities: "10240", "250 MB", "1.1 GB" (KB/MB/GB are powers of 1024).</summary>
public static class ByteQuantity
{
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        double factor = 1;
        foreach (var (suffix, f) in new[] { ("KB", 1024d), ("MB", 1024d * 1024), ("GB", 1024d * 1024 * 1024), ("TB", 1024d * 1024 * 1024 * 1024) })
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = f;
                t = t[..^suffix.Length].Trim();
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || double.IsInfinity(n))
            return false;
        bytes = (long)Math.Floor(n * factor);
        return true;
    }
}
