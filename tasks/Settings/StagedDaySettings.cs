using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The encrypt group (item BackupEncryptSettings, EnableBackupStagedDayExtensions): the gpg recipient, program, homedir
/// and the longest gpg run per file. EncryptStagedDays and Validate parse it here; it is only read when
/// EncryptRecipient is set (the extension is off otherwise, and its group costs nothing).
/// </summary>
public sealed record EncryptSettings(string Recipient, string Gpg, string? GpgHomeDir, int TimeoutSeconds)
{
    public const string ItemType = "BackupEncryptSettings";
    public static readonly string[] Names = { "EncryptRecipient", "EncryptGpgPath", "EncryptGpgHomeDir", "EncryptTimeoutSeconds" };

    /// <summary>True when the group turns the extension on (the targets run EncryptStagedDays then).</summary>
    public static bool IsOn(ITaskItem? item) => item != null && item.GetMetadata("EncryptRecipient").Trim().Length > 0;

    public static EncryptSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var recipient = r.Text("EncryptRecipient");
        if (recipient.Length == 0) problems.Error("Encrypt.NoRecipient");
        var gpg = ProgramPath.Required(r, "EncryptGpgPath", problems);
        var home = Values.AbsolutePath(r.Text("EncryptGpgHomeDir"), "EncryptGpgHomeDir", problems, required: false);
        var timeout = r.Integer("EncryptTimeoutSeconds", 1);
        return problems.ErrorCount > before ? null : new EncryptSettings(recipient, gpg, home, timeout);
    }
}

/// <summary>
/// The split group (item BackupSplitSettings, EnableBackupStagedDayExtensions): files strictly larger than
/// SplitSizeLimit become pieces of SplitSize. Read only when one of the two is set; then both are required.
/// </summary>
public sealed record SplitSettings(long SizeLimit, long SplitSize)
{
    public const string ItemType = "BackupSplitSettings";
    public static readonly string[] Names = { "SplitSizeLimit", "SplitSize" };

    public static bool IsOn(ITaskItem? item) =>
        item != null && (item.GetMetadata("SplitSizeLimit").Trim().Length > 0 || item.GetMetadata("SplitSize").Trim().Length > 0);

    public static SplitSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var limitText = r.Text("SplitSizeLimit");
        var sizeText = r.Text("SplitSize");
        if (!ByteQuantity.TryParse(limitText, out var limit)) problems.Error("Split.BadQuantity", "SplitSizeLimit", limitText);
        if (!ByteQuantity.TryParse(sizeText, out var size) || size < 1) problems.Error("Split.BadQuantity", "SplitSize", sizeText);
        return problems.ErrorCount > before ? null : new SplitSettings(limit, size);
    }
}

/// <summary>
/// The capacity group (item BackupCapacitySettings, EnableBackupStagedDayExtensions): exactly one of
/// CapacityMaxPercentage and CapacityMinBytes, and whether going over the line fails the run. Read only when one of
/// the two is set.
/// </summary>
public sealed record CapacitySettings(double? MaxPercentage, long? MinBytes, bool FailRun)
{
    public const string ItemType = "BackupCapacitySettings";
    public static readonly string[] Names = { "CapacityMaxPercentage", "CapacityMinBytes", "CapacityFailRun" };

    public static bool IsOn(ITaskItem? item) =>
        item != null && (item.GetMetadata("CapacityMaxPercentage").Trim().Length > 0 || item.GetMetadata("CapacityMinBytes").Trim().Length > 0);

    public static CapacitySettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var percentText = r.Text("CapacityMaxPercentage");
        var bytesText = r.Text("CapacityMinBytes");
        double? maxPercent = null;
        long? minBytes = null;
        if ((percentText.Length > 0) == (bytesText.Length > 0)) problems.Error("Capacity.ExactlyOne", percentText, bytesText);
        else if (percentText.Length > 0)
        {
            if (double.TryParse(percentText, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100) maxPercent = p;
            else problems.Error("Capacity.BadPercentage", percentText);
        }
        else if (ByteQuantity.TryParse(bytesText, out var b)) minBytes = b;
        else problems.Error("Capacity.BadMinBytes", bytesText);
        var failRun = r.Flag("CapacityFailRun");
        return problems.ErrorCount > before ? null : new CapacitySettings(maxPercent, minBytes, failRun);
    }
}
