using System.Text;
using System.Text.RegularExpressions;
using Cake.Core;
using Cake.Core.Annotations;
using Cake.Core.IO;

namespace Cake.BackupBuild;

/// <summary>
/// BackupBuild's actions for Cake scripts. Each alias runs <c>dotnet msbuild &lt;project&gt; -t:&lt;Action&gt;</c> with
/// the settings as escaped global properties, and throws when the action fails (its BKP codes are in the output).
/// </summary>
[CakeAliasCategory("BackupBuild")]
public static partial class BackupBuildAliases
{
    /// <summary>Collect: this machine's folders and files into archives in CollectDir.</summary>
    [CakeMethodAlias] public static void BackupCollect(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Collect", settings);

    /// <summary>Stage (master): each ready peer's collected archives into the day's staging folder.</summary>
    [CakeMethodAlias] public static void BackupStage(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Stage", settings);

    /// <summary>Store (master): the staged day onto the medium.</summary>
    [CakeMethodAlias] public static void BackupStore(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Store", settings);

    /// <summary>Purge: files older than each PurgeDirectory's RetainDays.</summary>
    [CakeMethodAlias] public static void BackupPurge(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Purge", settings);

    /// <summary>All: Collect, Stage, Store and Purge of a pool of one.</summary>
    [CakeMethodAlias] public static void BackupAll(this ICakeContext context, BackupSettings? settings = null) => Run(context, "All", settings);

    /// <summary>Validate: every configuration problem at once.</summary>
    [CakeMethodAlias] public static void BackupValidate(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Validate", settings);

    /// <summary>Verify: every stored day against its manifests.</summary>
    [CakeMethodAlias] public static void BackupVerify(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Verify", settings);

    /// <summary>Report: the pool's state as a page, text and mail.</summary>
    [CakeMethodAlias] public static void BackupReport(this ICakeContext context, BackupSettings? settings = null) => Run(context, "Report", settings);

    /// <summary>Restore: a peer's files as of a stored day into RestoreTo.</summary>
    [CakeMethodAlias]
    public static void BackupRestore(this ICakeContext context, BackupRestoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.RestoreTo == null)
            throw new CakeException("BKP9502: BackupRestore needs RestoreTo, the folder the files are restored into. Nothing was run.");
        Run(context, "Restore", settings);
    }

    /// <summary>Find: every stored version of the files matching a name or pattern.</summary>
    [CakeMethodAlias]
    public static void BackupFind(this ICakeContext context, BackupFindSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrEmpty(settings.Pattern))
            throw new CakeException("BKP9502: BackupFind needs Pattern, the name or pattern to find. Nothing was run.");
        Run(context, "Find", settings);
    }

    private static readonly string[] Verbosities = ["quiet", "minimal", "normal", "detailed", "diagnostic"];

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]*$")]
    private static partial Regex PropertyName();

    /// <summary>The arguments after the dotnet program, one string each (tested without Cake running).</summary>
    internal static IReadOnlyList<string> Arguments(string action, string project, BackupSettings settings)
    {
        var args = new List<string> { "msbuild", project, "-t:" + action, "-nologo" };
        var verbosity = settings.Verbosity ?? "minimal";
        if (!Verbosities.Contains(verbosity, StringComparer.OrdinalIgnoreCase))
            throw new CakeException($"BKP9500: Verbosity '{verbosity}' is not one of {string.Join(", ", Verbosities)}. Nothing was run.");
        args.Add("-v:" + verbosity.ToLowerInvariant());
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in settings.TypedProperties().Concat(settings.Properties))
        {
            if (!PropertyName().IsMatch(name))
                throw new CakeException($"BKP9500: '{name}' is not an MSBuild property name. Nothing was run.");
            if (!seen.Add(name))
                throw new CakeException($"BKP9500: property {name} is given twice (a typed setting and Properties). Nothing was run.");
            if (value.Any(char.IsControl))
                throw new CakeException($"BKP9501: the value of {name} holds a control character. Nothing was run.");
            args.Add($"-p:{name}={Escape(value)}");
        }
        return args;
    }

    /// <summary>
    /// MSBuild's escaping (%XX) for every character that could end the value (;), start an expression ($ @ % '),
    /// be a wildcard (* ?) or change how the argument is quoted (" \ and space): MSBuild unescapes the value, so the
    /// property holds exactly the text given.
    /// </summary>
    internal static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '%' or '$' or '@' or '\'' or ';' or '?' or '*' or '"' or '\\' or ' ')
                sb.Append('%').Append(((int)c).ToString("X2"));
            else
                sb.Append(c);
        }
        return sb.ToString();
    }

    private static void Run(ICakeContext context, string action, BackupSettings? settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        settings ??= new BackupSettings();
        var project = (settings.Project ?? new FilePath("backup.proj")).MakeAbsolute(context.Environment);
        var args = Arguments(action, project.FullPath, settings);
        var dotnet = settings.DotNetPath ?? context.Tools.Resolve("dotnet") ?? new FilePath("dotnet");

        var builder = new ProcessArgumentBuilder();
        // Every argument is quoted whole; Escape leaves no quote, backslash or space inside a value.
        foreach (var a in args) builder.AppendQuoted(a);
        context.Log.Write(Core.Diagnostics.Verbosity.Normal, Core.Diagnostics.LogLevel.Information,
            "BackupBuild {0}: {1} {2}", action, dotnet.FullPath, string.Join(" ", args));
        using var process = context.ProcessRunner.Start(dotnet, new ProcessSettings
        {
            Arguments = builder,
            WorkingDirectory = project.GetDirectory(),
        }) ?? throw new CakeException($"BKP9503: could not start {dotnet.FullPath} for BackupBuild {action}.");
        process.WaitForExit();
        var exit = process.GetExitCode();
        if (exit != 0)
            throw new CakeException($"BKP9503: BackupBuild {action} of {project.FullPath} failed (dotnet msbuild exit code {exit}); its BKP codes are in the output above.");
    }
}
