using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Wordpress;

/// <summary>
/// The database half of the request-queue system's wordpress module: for each WordpressSite, the
/// database named in its wp-config.php, dumped with mariadb-dump (--single-transaction, so the site
/// can keep running) into wordpress-&lt;normalized site path&gt;.sql[.gz|.bz2] in CollectDir. The site's
/// files are collected by Collect itself (wordpress.targets adds each site as a CollectDirectory).
/// The password from wp-config.php reaches the client through a mode-0600 option file that is
/// removed afterwards, never through the command line. A setting with a control character (a line
/// break would add options to that file) or longer than 1024 bytes is refused before anything runs.
/// </summary>
public sealed class WordpressDump : BackupTask
{
    /// <summary>WordpressSite items: the folder that holds wp-config.php.</summary>
    [Required] public ITaskItem[] Sites { get; set; } = Array.Empty<ITaskItem>();

    [Required] public string CollectDir { get; set; } = "";

    /// <summary>@(BackupWordpressSettings): WordpressCompressMode, WordpressTimeoutSeconds (Settings/ModuleGroups).</summary>
    public ITaskItem? GroupSettings { get; set; }

    /// <summary>MysqlDumpProgram: the dump program; default mariadb-dump, else mysqldump, from PATH.</summary>
    public string? DumpProgram { get; set; }


    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        var group = Settings.ModuleGroup.Wordpress.Parse(GroupSettings, problems);
        var compression = DumpCompressions.Parse(group?.CompressMode, "WordpressCompressMode", problems, DumpCompression.None);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var timeout = group?.TimeoutSeconds ?? 1;
        // A program setting is checked before it is looked for (BKP1150, not "not installed").
        var badProgram = !string.IsNullOrWhiteSpace(DumpProgram) && Settings.ProgramPath.Check(DumpProgram, "MysqlDumpProgram", problems) == null;
        var program = badProgram ? null : DumpPrograms.Find(DumpProgram, new[] { "mariadb-dump", "mysqldump" });
        if (!badProgram && program == null) problems.Error("Mysql.NoProgram", string.IsNullOrWhiteSpace(DumpProgram) ? "mariadb-dump, mysqldump" : DumpProgram!);
        var sites = new List<(string Path, SiteDatabase Config)>();
        foreach (var item in Sites)
        {
            var site = Values.AbsolutePath(item.ItemSpec, "WordpressSite", problems);
            if (site == null) continue;
            var configFile = Path.Combine(site, "wp-config.php");
            if (!File.Exists(configFile))
            {
                problems.Error("Wordpress.NoConfig", site);
                continue;
            }
            var (values, missing) = WordpressConfig.Parse(File.ReadAllText(configFile));
            if (values == null) problems.Error("Wordpress.BadConfig", configFile, string.Join(", ", missing));
            // The settings go into the dump program's option file and command line: no control characters.
            else if (SiteValues.CheckAll(site, configFile, WordpressConfig.Required.Select(k => (k, values[k])), problems))
                sites.Add((site, WordpressConfig.Database(values)));
        }
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || program == null) return false;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var written = new List<ITaskItem>();
        foreach (var (site, config) in sites)
        {
            var path = Path.Combine(collectDir, $"wordpress-{NormalizedPath.From(site)}.sql" + DumpCompressions.Extension(compression));
            var outcome = SiteMysqlDump.Write(path, compression, program, config, TimeSpan.FromSeconds(timeout), Cancellation);
            if (!outcome.Succeeded)
            {
                var reason = outcome.TimedOut ? Format("Dump.TimedOut", timeout, "WordpressTimeoutSeconds") : DumpPrograms.LastLines(outcome.Error);
                Log.LogErrorWithCodeFromResources("Wordpress.Failed", site, config.Name, Path.GetFileName(program), reason);
                continue;
            }
            Progress("Wordpress.Dumped", site, config.Name, path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dumps = written.ToArray();
        return !Log.HasLoggedErrors;
    }
}
