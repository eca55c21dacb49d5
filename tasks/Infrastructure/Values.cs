using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Parsing of property and metadata values, reporting what is wrong instead of throwing.</summary>
public static class Values
{
    public static bool Flag(string? value, string name, Problems problems, bool fallback = false)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (bool.TryParse(value.Trim(), out var b)) return b;
        problems.Error("Config.BadBoolean", name, value);
        return fallback;
    }

    public static int Integer(string? value, string name, Problems problems, int fallback, int min = int.MinValue)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (int.TryParse(value.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min)
            return n;
        if (min == int.MinValue) problems.Error("Config.BadInteger", name, value);
        else if (min == 0) problems.Error("Config.BadNonNegativeInteger", name, value);
        else problems.Error("Config.BadIntegerAtLeast", name, value, min);
        return fallback;
    }

    /// <summary>An absolute folder or file path, without a trailing slash (except "/").</summary>
    public static string? AbsolutePath(string? value, string name, Problems problems, bool required = true)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required) problems.Error("Config.MissingPath", name);
            return null;
        }
        if (!value.StartsWith('/'))
        {
            problems.Error("Config.RelativePath", name, value);
            return null;
        }
        return Trim(value);
    }

    public static string Trim(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    /// <summary>A semicolon-separated list, empty entries dropped.</summary>
    public static string[] List(string? value) =>
        string.IsNullOrEmpty(value) ? Array.Empty<string>()
            : value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Warns about custom metadata that BackupBuild does not read: usually a typo.</summary>
    public static void UnknownMetadata(ITaskItem item, string itemType, Problems problems, params string[] known)
    {
        foreach (var name in item.CloneCustomMetadata().Keys.Cast<string>())
            if (!known.Contains(name, StringComparer.OrdinalIgnoreCase))
                problems.Warning("Config.UnknownMetadata", itemType, item.ItemSpec, name, string.Join(", ", known));
    }
}
