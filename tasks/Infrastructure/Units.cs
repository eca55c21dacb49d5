using System.Globalization;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Human-readable sizes, rates and durations for log lines.</summary>
public static class Units
{
    public static string Bytes(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        double value = bytes;
        var i = 0;
        while (value >= 1024 && i < units.Length - 1) { value /= 1024; i++; }
        return i == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.00" : value < 100 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[i];
    }

    public static string Rate(long bytes, TimeSpan elapsed) =>
        elapsed.TotalSeconds <= 0.001 ? "-" : Bytes((long)(bytes / elapsed.TotalSeconds)) + "/s";

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
