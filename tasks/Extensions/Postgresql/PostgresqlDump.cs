using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Postgresql;

/// <summary>
/// Cedar's postgresql extension: pg_dumpall into postgresqldump.txt[.gz|.bz2], or pg_dump of each named
/// database into postgresqldump-&lt;db&gt;.txt[.gz|.bz2], in CollectDir. Passwords come only from a
/// password file (~/.pgpass or PostgresqlPassFile); the programs never prompt (-w).
/// </summary>
public sealed class PostgresqlDump : BackupTask
{
    /// <summary>PostgresqlDatabase items: database names, or "*" for the whole cluster (pg_dumpall).</summary>
    [Required] public ITaskItem[] Databases { get; set; } = Array.Empty<ITaskItem>();

    [Required] public string CollectDir { get; set; } = "";

    /// <summary>
    /// @(BackupPostgresqlSettings): PostgresqlCompressMode, PostgresqlTimeoutSeconds, PostgresqlPort (-p; empty: libpq's),
    /// PostgresqlPassFile (PGPASSFILE; empty: ~/.pgpass) (Settings/ModuleGroups).
    /// </summary>
    public ITaskItem? GroupSettings { get; set; }

    /// <summary>PostgresqlUser: the role to connect as (-U); default libpq's (the login name or PGUSER).</summary>
    public string? User { get; set; }

    /// <summary>PostgresqlHost: a host name, or the folder of the server's socket (-h).</summary>
    public string? Host { get; set; }

    /// <summary>@(BackupProgramSettings): PostgresqlDumpProgram / PostgresqlDumpAllProgram (Settings/ProgramSettings).</summary>
    public ITaskItem? ProgramSettings { get; set; }

    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        var selection = DatabaseSelection.From(Databases, "PostgresqlDatabase", problems);
        var group = Settings.ModuleGroup.Postgresql.Parse(GroupSettings, problems);
        var compression = DumpCompressions.Parse(group?.CompressMode, "PostgresqlCompressMode", problems, DumpCompression.None);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var passFile = group?.PassFile;
        if (passFile != null && !File.Exists(passFile)) problems.Error("Postgresql.NoPassFile", passFile);
        var timeout = group?.TimeoutSeconds ?? 1;
        var port = group?.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var setting = selection.All ? "PostgresqlDumpAllProgram" : "PostgresqlDumpProgram";
        var wanted = Settings.ProgramSettings.Parse(ProgramSettings, problems, "PostgresqlDumpProgram", "PostgresqlDumpAllProgram")?[setting];
        var program = wanted == null ? null : DumpPrograms.Find(wanted, []);
        if (wanted != null && program == null) problems.Error("Postgresql.NoProgram", wanted);
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || program == null) return false;
        if (!selection.All && selection.Names.Count == 0) return true;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        // -w: never prompt for a password (a backup runs unattended); a missing one is an error.
        var common = new List<string> { "-w" };
        if (!string.IsNullOrWhiteSpace(User)) common.AddRange(new[] { "-U", User.Trim() });
        if (!string.IsNullOrWhiteSpace(Host)) common.AddRange(new[] { "-h", Host.Trim() });
        if (port != null) common.AddRange(new[] { "-p", port });
        var environment = new Dictionary<string, string?>();
        if (passFile != null) environment["PGPASSFILE"] = passFile;

        var jobs = selection.All
            ? new[] { (Label: "*", File: "postgresqldump.txt", Args: (IEnumerable<string>)common) }
            : selection.Names.Select(db => (Label: db, File: $"postgresqldump-{db}.txt",
                // -d with a name that could look like an option or a connection string stays a name.
                Args: common.Concat(new[] { "-d", "dbname=" + QuoteConnectionValue(db) }))).ToArray();
        var written = new List<ITaskItem>();
        foreach (var job in jobs)
        {
            var path = Path.Combine(collectDir, job.File + DumpCompressions.Extension(compression));
            var outcome = DumpWriter.Write(path, compression, program, job.Args.ToList(), environment,
                TimeSpan.FromSeconds(timeout), Cancellation);
            var label = job.Label == "*" ? Format("Dump.AllDatabases") : job.Label;
            if (!outcome.Succeeded)
            {
                var name = Path.GetFileName(program);
                var reason = DumpPrograms.LastLines(outcome.Error);
                switch (DumpFailures.Classify(outcome))
                {
                    case DumpFailure.TimedOut: Log.LogErrorWithCodeFromResources("Postgresql.Timeout", label, name, timeout); break;
                    case DumpFailure.AccessDenied: Log.LogErrorWithCodeFromResources("Postgresql.AccessDenied", label, name, reason); break;
                    case DumpFailure.ServerUnreachable: Log.LogErrorWithCodeFromResources("Postgresql.Unreachable", label, name, reason); break;
                    default: Log.LogErrorWithCodeFromResources("Postgresql.Failed", label, name, outcome.ExitCode, reason); break;
                }
                continue;
            }
            Progress("Postgresql.Dumped", label, path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dumps = written.ToArray();
        return !Log.HasLoggedErrors;
    }

    // libpq connection strings: single-quote the value, escaping \ and '.
    private static string QuoteConnectionValue(string value) => "'" + value.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
