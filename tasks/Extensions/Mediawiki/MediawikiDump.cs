using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Mediawiki;

/// <summary>
/// The database half of the request-queue system's wiki module: for each MediawikiSite, the database
/// its LocalSettings.php names ($wgDBtype mysql or sqlite), dumped consistently as SQL into
/// wiki-&lt;normalized site path&gt;.sql[.gz|.bz2] in CollectDir. The original module made an XML page
/// dump with PHP; an SQL dump also keeps users, settings and history and needs no PHP. The site's
/// files are collected by Collect (mediawiki.targets adds each site as a CollectDirectory).
/// </summary>
public sealed class MediawikiDump : BackupTask
{
    /// <summary>MediawikiSite items: the folder that holds LocalSettings.php.</summary>
    [Required] public ITaskItem[] Sites { get; set; } = Array.Empty<ITaskItem>();

    [Required] public string CollectDir { get; set; } = "";

    /// <summary>@(BackupMediawikiSettings): MediawikiCompressMode, MediawikiTimeoutSeconds (Settings/ModuleGroups).</summary>
    public ITaskItem? GroupSettings { get; set; }

    /// <summary>MysqlDumpProgram (for $wgDBtype mysql; empty: mariadb-dump, else mysqldump).</summary>
    public string? DumpProgram { get; set; }
    /// <summary>@(BackupProgramSettings): SqliteProgram, for $wgDBtype sqlite (Settings/ProgramSettings).</summary>
    public ITaskItem? ProgramSettings { get; set; }


    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    private sealed record Site(string Path, string Type, SiteDatabase? Mysql, string? SqliteFile);

    protected override bool Run()
    {
        var problems = new Problems();
        var group = Settings.ModuleGroup.Mediawiki.Parse(GroupSettings, problems);
        var compression = DumpCompressions.Parse(group?.CompressMode, "MediawikiCompressMode", problems, DumpCompression.None);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var timeout = group?.TimeoutSeconds ?? 1;
        var sqliteProgram = Settings.ProgramSettings.Parse(ProgramSettings, problems, "SqliteProgram")?["SqliteProgram"];
        var badProgram = !string.IsNullOrWhiteSpace(DumpProgram) && Settings.ProgramPath.Check(DumpProgram, "MysqlDumpProgram", problems) == null;
        var sites = new List<Site>();
        foreach (var item in Sites)
        {
            var site = Values.AbsolutePath(item.ItemSpec, "MediawikiSite", problems);
            if (site == null) continue;
            var settingsFile = Path.Combine(site, "LocalSettings.php");
            if (!File.Exists(settingsFile))
            {
                problems.Error("Mediawiki.NoSettings", site);
                continue;
            }
            var found = Read(site, settingsFile, problems);
            if (found != null) sites.Add(found);
        }
        string? mysqldump = null, sqlite = null;
        if (sites.Any(s => s.Type == "mysql") && !badProgram)
        {
            mysqldump = DumpPrograms.Find(DumpProgram, new[] { "mariadb-dump", "mysqldump" });
            if (mysqldump == null) problems.Error("Mysql.NoProgram", string.IsNullOrWhiteSpace(DumpProgram) ? "mariadb-dump, mysqldump" : DumpProgram!);
        }
        if (sites.Any(s => s.Type == "sqlite"))
        {
            sqlite = sqliteProgram == null ? null : DumpPrograms.Find(sqliteProgram, []);
            if (sqliteProgram != null && sqlite == null) problems.Error("Trac.NoSqlite", sqliteProgram);
        }
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null) return false;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var written = new List<ITaskItem>();
        foreach (var site in sites)
        {
            var path = Path.Combine(collectDir, $"wiki-{NormalizedPath.From(site.Path)}.sql" + DumpCompressions.Extension(compression));
            var outcome = site.Type == "mysql"
                ? SiteMysqlDump.Write(path, compression, mysqldump!, site.Mysql!, TimeSpan.FromSeconds(timeout), Cancellation)
                : SqliteDump.Write(path, compression, sqlite!, site.SqliteFile!, TimeSpan.FromSeconds(timeout), Cancellation);
            if (!outcome.Succeeded)
            {
                var reason = outcome.TimedOut ? Format("Dump.TimedOut", timeout, "MediawikiTimeoutSeconds")
                    : site.Type == "sqlite" ? SqliteDump.Reason(outcome) : DumpPrograms.LastLines(outcome.Error);
                Log.LogErrorWithCodeFromResources("Mediawiki.Failed", site.Path, site.Type, reason);
                continue;
            }
            Progress("Mediawiki.Dumped", site.Path, path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dumps = written.ToArray();
        return !Log.HasLoggedErrors;
    }

    private static Site? Read(string site, string settingsFile, Problems problems)
    {
        var v = PhpSettings.Variables(File.ReadAllText(settingsFile));
        var type = v.GetValueOrDefault("wgDBtype", "mysql");
        string[] needed = type switch
        {
            "mysql" => new[] { "wgDBname", "wgDBuser", "wgDBpassword" },
            "sqlite" => new[] { "wgDBname", "wgSQLiteDataDir" },
            _ => Array.Empty<string>(),
        };
        if (type is not ("mysql" or "sqlite"))
        {
            problems.Error("Mediawiki.Unsupported", site, type);
            return null;
        }
        var missing = needed.Where(n => !v.ContainsKey(n)).Select(n => "$" + n).ToList();
        if (missing.Count > 0)
        {
            problems.Error("Mediawiki.BadSettings", settingsFile, string.Join(", ", missing));
            return null;
        }
        // The settings go into the dump program's option file and command line: no control characters.
        var used = type == "mysql" ? needed.Append("wgDBserver") : needed;
        if (!SiteValues.CheckAll(site, settingsFile, used.Where(v.ContainsKey).Select(n => ("$" + n, v[n])), problems)) return null;
        if (type == "mysql")
            return new Site(site, type, SiteDatabase.FromHostValue(v["wgDBname"], v["wgDBuser"], v["wgDBpassword"],
                v.GetValueOrDefault("wgDBserver", "localhost")), null);
        // MediaWiki keeps an SQLite wiki in $wgSQLiteDataDir/$wgDBname.sqlite. A relative folder is taken from the
        // wiki's folder (where PHP runs it), so the path given to sqlite3 is absolute: never an option ("-…") nor a
        // "file:" URI with parameters.
        var file = Path.Combine(site, v["wgSQLiteDataDir"], v["wgDBname"] + ".sqlite");
        if (!File.Exists(file))
        {
            problems.Error("Mediawiki.NoDatabase", site, file);
            return null;
        }
        return new Site(site, type, null, file);
    }
}
