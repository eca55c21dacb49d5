using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// Reads one settings item of targets/BackupBuild.Settings.targets (BackupRunSettings, BackupStoreSettings…): its
/// metadata are named after the properties they come from, so every problem names the property to fix. The
/// defaults come from targets/BackupBuild.props alone: a setting whose default is not empty is required here, and an
/// empty one means the props were not imported (or the property was emptied with -p:Name=), which is reported.
/// </summary>
public sealed class SettingsReader
{
    private readonly ITaskItem? _item;
    private readonly Problems _problems;

    public SettingsReader(ITaskItem? item, string itemType, Problems problems)
    {
        _item = item;
        ItemType = itemType;
        _problems = problems;
        if (item == null) problems.Error("Config.NoSettingsItem", itemType);
    }

    public string ItemType { get; }

    /// <summary>False when the task got no settings item (already reported).</summary>
    public bool Present => _item != null;

    /// <summary>The value as it is (untrimmed); empty when unset.</summary>
    public string Raw(string name) => _item?.GetMetadata(name) ?? "";

    /// <summary>The value, trimmed; empty when unset.</summary>
    public string Text(string name) => (_item?.GetMetadata(name) ?? "").Trim();

    /// <summary>A value the props always give: empty is a problem (BKP1101).</summary>
    public string Required(string name)
    {
        var value = Text(name);
        if (value.Length == 0 && Present) _problems.Error("Config.MissingSetting", name, ItemType);
        return value;
    }

    public bool Flag(string name)
    {
        var value = Required(name);
        return value.Length > 0 && Values.Flag(value, name, _problems);
    }

    public int Integer(string name, int min)
    {
        var value = Required(name);
        return value.Length == 0 ? min : Values.Integer(value, name, _problems, min, min);
    }

    /// <summary>An optional whole number (empty: null).</summary>
    public int? OptionalInteger(string name, int min)
    {
        var value = Text(name);
        if (value.Length == 0) return null;
        var before = _problems.All.Count;
        var n = Values.Integer(value, name, _problems, min, min);
        return _problems.All.Count == before ? n : null;
    }
}
