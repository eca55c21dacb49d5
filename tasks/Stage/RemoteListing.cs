using System.Globalization;

namespace BackupBuild.Tasks.Stage;

/// <summary>One entry of a remote collect dir as `find -printf '%y %s %T@ %f\0'` lists it.</summary>
public sealed record RemoteEntry(char Type, long Size, long MtimeSeconds, string Name)
{
    /// <summary>The remote command that lists a collect dir (non-recursive) in this form.</summary>
    public static string ListCommand(string collectDir) =>
        $"find {Infrastructure.RemoteShell.Quote(collectDir)} -mindepth 1 -maxdepth 1 -printf '%y %s %T@ %f\\0'";

    public static List<RemoteEntry> Parse(string output)
    {
        var entries = new List<RemoteEntry>();
        foreach (var record in output.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = record.TrimStart('\n');
            var parts = line.Split(' ', 4);
            if (parts.Length < 4 || parts[0].Length != 1) continue;
            var seconds = (long)Math.Floor(double.Parse(parts[2], CultureInfo.InvariantCulture));
            entries.Add(new RemoteEntry(parts[0][0], long.Parse(parts[1], CultureInfo.InvariantCulture), seconds, parts[3]));
        }
        return entries;
    }
}
