using System.Globalization;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Purge;

/// <summary>One PurgeDirectory item, checked.</summary>
public sealed record PurgeTarget(string Path, int RetainDays);

/// <summary>Turns PurgeDirectory items into <see cref="PurgeTarget"/>s, reporting every problem at once.</summary>
public static class PurgeItems
{
    public static List<PurgeTarget> Read(ITaskItem[]? items, Action<string, object[]> problem)
    {
        var targets = new List<PurgeTarget>();
        foreach (var item in items ?? Array.Empty<ITaskItem>())
        {
            var path = item.ItemSpec;
            var ok = true;
            if (string.IsNullOrWhiteSpace(path) || !System.IO.Path.IsPathFullyQualified(path))
            {
                problem("Purge.RelativeDir", new object[] { path });
                ok = false;
            }

            var retainText = item.GetMetadata("RetainDays");
            var retainDays = 0;
            if (string.IsNullOrWhiteSpace(retainText))
            {
                problem("Purge.MissingRetainDays", new object[] { path });
                ok = false;
            }
            else if (!int.TryParse(retainText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out retainDays))
            {
                problem("Purge.BadRetainDays", new object[] { path, retainText });
                ok = false;
            }

            if (ok)
                targets.Add(new PurgeTarget(
                    System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path)), retainDays));
        }
        return targets;
    }
}
