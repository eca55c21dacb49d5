using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Trac;

/// <summary>
/// The database half of the request-queue system's trac module, made consistent: for each TracSite
/// (a Trac environment), the SQLite database named in conf/trac.ini is dumped with sqlite3's .dump,
/// which reads inside one transaction, so a running Trac is fine (the original copied the live
/// file with tar). Written to trac-&lt;normalized environment path&gt;.sql[.gz|.bz2] in CollectDir;
/// the environment's other files are collected by Collect (trac.targets adds it, without db/).
/// </summary>
public sealed class TracDump : BackupTask
{
    /// <summary>TracSite items: Trac environment folders (with conf/trac.ini).</summary>
    [Required] public ITaskItem[] Sites { get; set; } = Array.Empty<ITaskItem>();

    [Required] public string CollectDir { get; set; } = "";

    /// <summary>@(BackupTracSettings): TracCompressMode, TracTimeoutSeconds (Settings/ModuleGroups).</summary>
    public ITaskItem? GroupSettings { get; set; }

    /// <summary>@(BackupProgramSettings): SqliteProgram (Settings/ProgramSettings).</summary>
    public ITaskItem? ProgramSettings { get; set; }


    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        var group = Settings.ModuleGroup.Trac.Parse(GroupSettings, problems);
        var compression = DumpCompressions.Parse(group?.CompressMode, "TracCompressMode", problems, DumpCompression.None);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var timeout = group?.TimeoutSeconds ?? 1;
        var sqliteProgram = Settings.ProgramSettings.Parse(ProgramSettings, problems, "SqliteProgram")?["SqliteProgram"];
        var program = sqliteProgram == null ? null : DumpPrograms.Find(sqliteProgram, []);
        if (sqliteProgram != null && program == null) problems.Error("Trac.NoSqlite", sqliteProgram);
        var sites = new List<(string Path, string Database)>();
        foreach (var item in Sites)
        {
            var site = Values.AbsolutePath(item.ItemSpec, "TracSite", problems);
            if (site == null) continue;
            var ini = Path.Combine(site, "conf", "trac.ini");
            if (!File.Exists(ini))
            {
                problems.Error("Trac.NoIni", site);
                continue;
            }
            var database = DatabaseSetting(File.ReadAllLines(ini)) ?? "sqlite:db/trac.db";
            // The path goes on sqlite3's command line: no control characters. It is made absolute below (the site
            // folder is), so it is never taken as an option ("-…") nor a "file:" URI.
            if (!SiteValues.Check(site, ini, "[trac] database", database, problems)) continue;
            if (!database.StartsWith("sqlite:", StringComparison.Ordinal))
            {
                problems.Error("Trac.NotSqlite", site, database.Split(':')[0]);
                continue;
            }
            var file = database["sqlite:".Length..];
            file = Path.Combine(site, file);
            if (!File.Exists(file)) problems.Error("Trac.NoDatabase", site, file);
            else sites.Add((site, file));
        }
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || program == null) return false;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var written = new List<ITaskItem>();
        foreach (var (site, database) in sites)
        {
            var path = Path.Combine(collectDir, $"trac-{NormalizedPath.From(site)}.sql" + DumpCompressions.Extension(compression));
            var outcome = SqliteDump.Write(path, compression, program, database, TimeSpan.FromSeconds(timeout), Cancellation);
            if (!outcome.Succeeded)
            {
                var reason = outcome.TimedOut ? Format("Dump.TimedOut", timeout, "TracTimeoutSeconds") : SqliteDump.Reason(outcome);
                Log.LogErrorWithCodeFromResources("Trac.Failed", site, database, reason);
                continue;
            }
            Progress("Trac.Dumped", site, path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dumps = written.ToArray();
        return !Log.HasLoggedErrors;
    }

    /// <summary>The database = … line of the [trac] section; null when absent (Trac's default then applies).</summary>
    private static string? DatabaseSetting(IEnumerable<string> lines)
    {
        var section = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('[') && line.EndsWith(']')) section = line[1..^1].Trim();
            else if (section == "trac" && line.StartsWith("database", StringComparison.Ordinal))
            {
                var eq = line.IndexOf('=');
                if (eq > 0 && line[..eq].Trim() == "database") return line[(eq + 1)..].Trim();
            }
        }
        return null;
    }
}
