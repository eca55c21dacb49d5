using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// Reads an item's metadata whose default the ItemDefinitionGroup of targets/BackupBuild.props gives (CollectDirectory's
/// LinkDepth, Peer's Port, BackupServer's User…): every item carries it, so an empty one was set to nothing (or the item
/// was built without the props) and is refused with BKP1151 naming the item; the parser has no default of its own.
/// Validate and the action read the items through the same parser, so both refuse the same values with the same code.
/// </summary>
public static class ItemMetadata
{
    /// <summary>The value, trimmed; empty is BKP1151.</summary>
    public static string Required(ITaskItem item, string itemType, string name, Problems problems)
    {
        var value = item.GetMetadata(name).Trim();
        if (value.Length == 0) problems.Error("Config.MissingItemMetadata", itemType, item.ItemSpec, name);
        return value;
    }

    /// <summary>true or false (BKP1006 otherwise, naming the item); empty is BKP1151.</summary>
    public static bool Flag(ITaskItem item, string itemType, string name, Problems problems)
    {
        var value = Required(item, itemType, name, problems);
        return value.Length > 0 && Values.Flag(value, $"{itemType} \"{item.ItemSpec}\" {name}", problems);
    }

    /// <summary>A whole number of at least <paramref name="min"/> (int.MinValue: any; BKP1007/1008/1100 otherwise); empty is BKP1151.</summary>
    public static int Integer(ITaskItem item, string itemType, string name, Problems problems, int min = int.MinValue)
    {
        var value = Required(item, itemType, name, problems);
        return value.Length == 0 ? 0 : Values.Integer(value, $"{itemType} \"{item.ItemSpec}\" {name}", problems, 0, min);
    }
}
