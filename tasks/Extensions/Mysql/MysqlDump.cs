using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Mysql;

/// <summary>
/// Cedar's mysql extension: mysqldump (or mariadb-dump) of every database into mysqldump.txt[.gz|.bz2],
/// or of each named database into mysqldump-&lt;db&gt;.txt[.gz|.bz2], in CollectDir. Credentials come
/// only from the client's option files: ~/.my.cnf, or the file named by MysqlOptionsFile.
/// </summary>
public sealed class MysqlDump : BackupTask
{
    /// <summary>MysqlDatabase items: database names, or "*" for every database in one dump.</summary>
    [Required] public ITaskItem[] Databases { get; set; } = Array.Empty<ITaskItem>();

    [Required] public string CollectDir { get; set; } = "";

    /// <summary>MysqlCompressMode: none, gzip or bzip2 (default bzip2).</summary>
    public string? CompressMode { get; set; }

    /// <summary>MysqlOptionsFile: a my.cnf with [client] user, password, host/socket; read after the defaults.</summary>
    public string? OptionsFile { get; set; }

    /// <summary>MysqlDumpProgram: the dump program; default mariadb-dump, else mysqldump, from PATH.</summary>
    public string? DumpProgram { get; set; }

    /// <summary>MysqlDumpArguments: replaces the default options (semicolon list).</summary>
    public string? DumpArguments { get; set; }

    /// <summary>MysqlTimeoutSeconds: a dump running longer is stopped and fails (default 21600).</summary>
    public string? TimeoutSeconds { get; set; }

    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    // Cedar runs "--opt --flush-logs"; --single-transaction makes InnoDB dumps consistent without
    // locking tables, and routines/events/triggers make the dump a complete restore.
    public const string DefaultArguments = "--opt;--single-transaction;--flush-logs;--routines;--events;--triggers";

    protected override bool Run()
    {
        var problems = new Problems();
        var selection = DatabaseSelection.From(Databases, "MysqlDatabase", problems);
        var compression = DumpCompressions.Parse(CompressMode, "MysqlCompressMode", problems, DumpCompression.Bzip2);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var optionsFile = Values.AbsolutePath(OptionsFile, "MysqlOptionsFile", problems, required: false);
        if (optionsFile != null && !File.Exists(optionsFile)) problems.Error("Mysql.NoOptionsFile", optionsFile);
        var timeout = Values.Integer(TimeoutSeconds, "MysqlTimeoutSeconds", problems, 21600, min: 1);
        var program = DumpPrograms.Find(DumpProgram, new[] { "mariadb-dump", "mysqldump" });
        if (program == null) problems.Error("Mysql.NoProgram", string.IsNullOrWhiteSpace(DumpProgram) ? "mariadb-dump, mysqldump" : DumpProgram!);
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || program == null) return false;
        if (!selection.All && selection.Names.Count == 0) return true;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var common = new List<string>();
        // --defaults-extra-file must come first: the client reads it after its usual option files.
        if (optionsFile != null) common.Add("--defaults-extra-file=" + optionsFile);
        common.AddRange(Values.List(string.IsNullOrWhiteSpace(DumpArguments) ? DefaultArguments : DumpArguments));

        var jobs = selection.All
            ? new[] { (Label: "*", File: "mysqldump.txt", Args: common.Append("--all-databases")) }
            : selection.Names.Select(db => (Label: db, File: $"mysqldump-{db}.txt", Args: common.Concat(new[] { "--databases", "--", db }))).ToArray();
        var written = new List<ITaskItem>();
        foreach (var job in jobs)
        {
            var path = Path.Combine(collectDir, job.File + DumpCompressions.Extension(compression));
            var outcome = DumpWriter.Write(path, compression, program, job.Args.ToList(),
                new Dictionary<string, string?>(), TimeSpan.FromSeconds(timeout), Cancellation);
            var label = job.Label == "*" ? Format("Dump.AllDatabases") : job.Label;
            if (!outcome.Succeeded)
            {
                var name = Path.GetFileName(program);
                var reason = DumpPrograms.LastLines(outcome.Error);
                switch (DumpFailures.Classify(outcome))
                {
                    case DumpFailure.TimedOut: Log.LogErrorWithCodeFromResources("Mysql.Timeout", label, name, timeout); break;
                    case DumpFailure.AccessDenied: Log.LogErrorWithCodeFromResources("Mysql.AccessDenied", label, name, reason); break;
                    case DumpFailure.ServerUnreachable: Log.LogErrorWithCodeFromResources("Mysql.Unreachable", label, name, reason); break;
                    default: Log.LogErrorWithCodeFromResources("Mysql.Failed", label, name, outcome.ExitCode, reason); break;
                }
                continue;
            }
            Progress("Mysql.Dumped", label, path, Units.Bytes(outcome.Bytes));
            written.Add(new Microsoft.Build.Utilities.TaskItem(path));
        }
        Dumps = written.ToArray();
        return !Log.HasLoggedErrors;
    }
}
