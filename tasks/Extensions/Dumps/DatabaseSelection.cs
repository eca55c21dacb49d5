using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>
/// The databases a dump module was given: item "*" means every database in one dump (Cedar's
/// all="Y"); otherwise one dump per named database. "*" together with names is a mistake.
/// </summary>
internal sealed record DatabaseSelection(bool All, IReadOnlyList<string> Names)
{
    public static DatabaseSelection From(ITaskItem[] items, string itemType, Problems problems)
    {
        var names = items.Select(i => i.ItemSpec.Trim()).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var all = names.Remove("*");
        if (all && names.Count > 0) problems.Error("Dump.AllAndNamed", itemType, string.Join(", ", names));
        foreach (var n in names.Where(n => n.Contains('/') || n.StartsWith('-')))
            problems.Error("Dump.BadName", itemType, n);
        return new DatabaseSelection(all, names);
    }
}
