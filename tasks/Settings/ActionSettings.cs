using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The span group (item BackupSpanSettings): the image names, each medium's capacity less the cushion, whether the
/// spanned days get cback.store, and the label prefix (StoreMediaLabel). Span and Validate parse it here.
/// </summary>
public sealed record SpanSettings(string ImagePattern, long Capacity, double CushionPercent, bool MarkStored, string LabelPrefix)
{
    public const string ItemType = "BackupSpanSettings";
    public static readonly string[] Names = { "SpanImagePattern", "SpanCapacity", "SpanCushionPercent", "SpanMarkStored", "StoreMediaLabel" };

    public static SpanSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var patternText = r.Required("SpanImagePattern");
        var pattern = patternText.Length == 0 ? null : Values.AbsolutePath(patternText, "SpanImagePattern", problems);
        if (pattern != null && (!pattern.Contains("{n}") || Path.GetDirectoryName(pattern)!.Contains("{n}")))
            problems.Error("Span.BadPattern", patternText);
        var capacityText = r.Required("SpanCapacity");
        long capacity = 0;
        if (capacityText.Length > 0 && (!ByteQuantity.TryParse(capacityText, out capacity) || capacity <= 0))
            problems.Error("Span.BadCapacity", capacityText);
        var cushionText = r.Required("SpanCushionPercent");
        double cushion = 0;
        if (cushionText.Length > 0
            && (!double.TryParse(cushionText, NumberStyles.Float, CultureInfo.InvariantCulture, out cushion) || cushion < 0 || cushion >= 100))
            problems.Error("Span.BadCushion", cushionText);
        var mark = r.Flag("SpanMarkStored");
        var label = r.Required("StoreMediaLabel").ToUpperInvariant();
        return problems.ErrorCount > before ? null : new SpanSettings(pattern!, capacity, cushion, mark, label);
    }
}

/// <summary>The verify group (item BackupVerifySettings): the share of the archives one Verify run reads.</summary>
public sealed record VerifySettings(double Fraction)
{
    public const string ItemType = "BackupVerifySettings";
    public static readonly string[] Names = { "VerifyFraction" };

    public static VerifySettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var text = r.Required("VerifyFraction");
        double fraction = 0;
        if (text.Length > 0 && (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out fraction) || fraction <= 0 || fraction > 1))
            problems.Error("Verify.BadFraction", text);
        return problems.ErrorCount > before ? null : new VerifySettings(fraction);
    }
}

/// <summary>
/// The report group (item BackupReportSettings): the HTML page, the text summary (empty: none) and how many weeks
/// the report looks back.
/// </summary>
public sealed record ReportSettings(string ReportFile, string? TextFile, int Weeks)
{
    public const string ItemType = "BackupReportSettings";
    public static readonly string[] Names = { "ReportFile", "ReportTextFile", "ReportWeeks" };

    public static ReportSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var fileText = r.Required("ReportFile");
        var file = fileText.Length == 0 ? null : Values.AbsolutePath(fileText, "ReportFile", problems);
        // Empty on purpose (-p:ReportTextFile=): no text file.
        var text = Values.AbsolutePath(r.Text("ReportTextFile"), "ReportTextFile", problems, required: false);
        var weeks = r.Integer("ReportWeeks", 1);
        return problems.ErrorCount > before ? null : new ReportSettings(file!, text, weeks);
    }
}
