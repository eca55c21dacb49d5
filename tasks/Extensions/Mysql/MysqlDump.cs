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

    /// <summary>
    /// @(BackupMysqlSettings): MysqlCompressMode (none, gzip, bzip2), MysqlOptionsFile (a my.cnf with [client] user,
    /// password, host/socket; read after the client's own files), MysqlDumpProgram (empty: mariadb-dump, else mysqldump,
    /// from PATH), MysqlDumpArguments (semicolon list), MysqlTimeoutSeconds. Defaults: targets/BackupBuild.props.
    /// </summary>
    public ITaskItem? MysqlSettings { get; set; }

    [Output] public ITaskItem[] Dumps { get; private set; } = Array.Empty<ITaskItem>();

    public const string SettingsItemType = "BackupMysqlSettings";
    public static readonly string[] SettingsNames = { "MysqlCompressMode", "MysqlOptionsFile", "MysqlDumpProgram", "MysqlDumpArguments", "MysqlTimeoutSeconds" };

    /// <summary>The parsed mysql group.</summary>
    public sealed record Settings(DumpCompression Compression, string? OptionsFile, string? Program, IReadOnlyList<string> Arguments, int TimeoutSeconds);

    /// <summary>
    /// The mysql group as Validate and MysqlDump read it. <paramref name="onThisMachine"/>: the option file and the
    /// program must exist here (Validate of another peer's configuration leaves them to that peer).
    /// </summary>
    public static Settings? ParseSettings(ITaskItem? item, Problems problems, bool onThisMachine)
    {
        var before = problems.All.Count(p => !p.IsWarning);
        var r = new BackupBuild.Tasks.Settings.SettingsReader(item, SettingsItemType, problems);
        if (!r.Present) return null;
        var compressText = r.Required("MysqlCompressMode");
        var compression = DumpCompressions.Parse(compressText, "MysqlCompressMode", problems, DumpCompression.None);
        var optionsFile = Values.AbsolutePath(r.Text("MysqlOptionsFile"), "MysqlOptionsFile", problems, required: false);
        if (onThisMachine && optionsFile != null && !File.Exists(optionsFile)) problems.Error("Mysql.NoOptionsFile", optionsFile);
        var timeout = r.Integer("MysqlTimeoutSeconds", 1);
        var arguments = Values.List(r.Required("MysqlDumpArguments"));
        var dumpProgram = r.Text("MysqlDumpProgram");
        // Empty: mariadb-dump, else mysqldump. A program setting is checked before it is looked for (BKP1150).
        var badProgram = dumpProgram.Length > 0 && BackupBuild.Tasks.Settings.ProgramPath.Check(r.Raw("MysqlDumpProgram"), "MysqlDumpProgram", problems) == null;
        var program = badProgram ? null : DumpPrograms.Find(dumpProgram, new[] { "mariadb-dump", "mysqldump" });
        if (onThisMachine && !badProgram && program == null) problems.Error("Mysql.NoProgram", dumpProgram.Length == 0 ? "mariadb-dump, mysqldump" : dumpProgram);
        return problems.All.Count(p => !p.IsWarning) > before ? null : new Settings(compression, optionsFile, program, arguments, timeout);
    }

    protected override bool Run()
    {
        var problems = new Problems();
        var selection = DatabaseSelection.From(Databases, "MysqlDatabase", problems);
        var collectDir = Values.AbsolutePath(CollectDir, "CollectDir", problems);
        var settings = ParseSettings(MysqlSettings, problems, onThisMachine: true);
        problems.LogTo(Log);
        if (problems.HasErrors || collectDir == null || settings?.Program is not { } program) return false;
        var (compression, optionsFile, timeout) = (settings.Compression, settings.OptionsFile, settings.TimeoutSeconds);
        if (!selection.All && selection.Names.Count == 0) return true;

        Directory.CreateDirectory(collectDir);
        AtomicFile.RemoveLeftovers(collectDir);
        var common = new List<string>();
        // --defaults-extra-file must come first: the client reads it after its usual option files.
        if (optionsFile != null) common.Add("--defaults-extra-file=" + optionsFile);
        common.AddRange(settings.Arguments);

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
