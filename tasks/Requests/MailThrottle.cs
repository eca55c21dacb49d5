using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// Cron runs the queue every few minutes: the same failure is mailed when it first happens and then
/// at most once a day, so a server that is down for a night sends one mail, not a hundred.
/// </summary>
internal static class MailThrottle
{
    public static readonly TimeSpan Repeat = TimeSpan.FromHours(24);

    /// <summary>True when this set of failures (<paramref name="keys"/>) should be mailed now; remembers it.</summary>
    public static bool ShouldSend(string stateFile, IEnumerable<string> keys, DateTime nowUtc)
    {
        var fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", keys.Order(StringComparer.Ordinal))))).ToLowerInvariant();
        try
        {
            var last = File.Exists(stateFile) ? File.ReadAllText(stateFile).Split(' ') : Array.Empty<string>();
            if (last.Length == 2 && last[0] == fingerprint &&
                long.TryParse(last[1], NumberStyles.None, CultureInfo.InvariantCulture, out var at) &&
                nowUtc - DateTimeOffset.FromUnixTimeSeconds(at).UtcDateTime < Repeat)
                return false;
            Directory.CreateDirectory(Path.GetDirectoryName(stateFile)!);
            AtomicFile.WriteAllBytes(stateFile, Encoding.UTF8.GetBytes(
                fingerprint + " " + new DateTimeOffset(nowUtc).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
        }
        catch (IOException) { }
        return true;
    }
}
