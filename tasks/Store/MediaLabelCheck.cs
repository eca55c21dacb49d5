using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// Cedar's check_media: rewritable media must carry a label that starts with the prefix ("CEDAR BACKUP"), which
/// Initialize or an earlier Store wrote; non-rewritable media may also be blank, since they cannot be initialized.
/// </summary>
public static class MediaLabelCheck
{
    /// <summary>Null when the medium may be written, else the resource name and arguments of the error.</summary>
    public static (string Resource, object[] Args)? Refusal(MediumInfo info, StoreSettings settings, string medium)
    {
        var label = string.IsNullOrWhiteSpace(info.Label) ? null : info.Label;
        if (label == null)
            return settings.Media.Rewritable ? ("Media.NoLabel", [medium, settings.Media.Name]) : null;
        return label.StartsWith(settings.LabelPrefix, StringComparison.Ordinal)
            ? null
            : ("Media.ForeignLabel", [medium, label, settings.LabelPrefix]);
    }
}
