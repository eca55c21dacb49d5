using System.Security;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Import;

/// <summary>
/// What makes an imported configuration a site repository of its own: the BackupBuild.Sdk version its backup.proj
/// names and the nuget.config that says where the package comes from (docs/deploy.md, step 3).
/// </summary>
public static partial class SiteRepository
{
    public const string NuGetConfigName = "nuget.config";

    /// <summary>
    /// What every run writes beside backup.proj and no repository should hold: the run logger's copy and the
    /// Directory.Build.rsp naming it (RegisterRunLogger, written again by the next run), and the default run log.
    /// </summary>
    public const string GitIgnore = "# Written by every run beside backup.proj (docs/deploy.md): not configuration.\n/obj/\n/Directory.Build.rsp\n/.backupbuild/\n/logs/\n";

    /// <summary>The names NuGet looks for beside a project, in its order.</summary>
    private static readonly string[] NuGetConfigNames = { "nuget.config", "NuGet.config", "NuGet.Config" };

    private const long MaxConfigBytes = 1 << 20;

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+){1,3}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    private static partial Regex VersionPattern();

    /// <summary>A NuGet version such as 1.0.0 or 1.2.0-rc.1.</summary>
    public static bool IsVersion(string version) => version.Length <= 64 && VersionPattern().IsMatch(version);

    /// <summary>
    /// The nuget.config to write: one naming <paramref name="feed"/> alone, or, when no feed is given, a copy of the
    /// nuget.config beside the project that runs the import. Null (with a problem) when neither can be had.
    /// </summary>
    public static string? NuGetConfig(string feed, string projectDirectory, Problems problems)
    {
        feed = feed.Trim();
        if (feed.Length > 0)
        {
            if (!IsFeed(feed))
            {
                problems.Error("Import.BadFeed", feed);
                return null;
            }
            return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                + "<!-- Where BackupBuild.Sdk comes from (docs/deploy.md). Only this source is used. -->\n"
                + "<configuration>\n"
                + "  <packageSources>\n"
                + "    <clear />\n"
                + $"    <add key=\"backupbuild\" value=\"{SecurityElement.Escape(feed)}\" />\n"
                + "  </packageSources>\n"
                + "</configuration>\n";
        }
        if (projectDirectory.Length > 0)
            foreach (var name in NuGetConfigNames)
            {
                var existing = Path.Combine(projectDirectory, name);
                var info = new FileInfo(existing);
                if (!info.Exists || info.LinkTarget != null) continue;
                if (info.Length > MaxConfigBytes) break;
                try
                {
                    return File.ReadAllText(existing);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    break;
                }
            }
        problems.Error("Import.NoFeed", projectDirectory);
        return null;
    }

    /// <summary>An absolute folder (a folder feed) or an http(s) URL of a NuGet server; nothing that needs quoting.</summary>
    public static bool IsFeed(string feed)
    {
        if (feed.Length > 2000 || feed.Any(char.IsControl)) return false;
        if (feed.StartsWith('/')) return !feed.Contains("/../") && !feed.EndsWith("/..");
        return Uri.TryCreate(feed, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && string.IsNullOrEmpty(uri.UserInfo);
    }
}
