using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Registers BackupBuild's run logger (logger/RunLogger.cs) for the runs to come: copies the logger assembly to a stable
/// place beside the project (.backupbuild/, so a package upgrade, a clean of the build output in obj/ or of the
/// checkout never leaves MSBuild a missing file to load) and then, last, writes Directory.Build.rsp beside the project,
/// which MSBuild reads when it starts and which names that copy. Both are replaced atomically and only when their content changes. A run that
/// finds no run logger attached (the first run in a folder, or the response file was removed) says so with BKP9301;
/// with -noAutoResponse nothing is written and nothing is said but a message.
/// </summary>
public sealed class RegisterRunLogger : BackupTask, IIncrementalTask
{
    /// <summary>What the logger puts in the AppDomain while it is attached (logger/RunLogger.cs, AttachedKey).</summary>
    public const string AttachedKey = "BackupBuild.RunLogger.Attached";

    /// <summary>
    /// The folder beside the project that holds the logger's copy (and the binary log while a run lasts). Not obj/: the
    /// response file names the copy, MSBuild cannot start a run whose -logger names a missing file (MSB1021), and obj/ is
    /// what people delete as build output; both this folder and the response file are removed together by a git clean.
    /// </summary>
    public const string DefaultFolder = ".backupbuild";

    public const string Header = "# BackupBuild: attaches the run logger and keeps the binary logs (docs/deploy.md, \"The log\").";

    /// <summary>The built or packaged logger assembly.</summary>
    [Required] public string LoggerAssembly { get; set; } = "";
    /// <summary>The folder of the project (Directory.Build.rsp goes there).</summary>
    [Required] public string ProjectDirectory { get; set; } = "";
    /// <summary>The project's file name: the logger stays inert in builds of other projects below the folder.</summary>
    public string? ProjectFile { get; set; }
    /// <summary>Where the copy of the logger goes (default .backupbuild/ beside the project).</summary>
    public string? LoggerFolder { get; set; }
    /// <summary>BackupBinaryLogDir and BackupBinaryLogsKept.</summary>
    public string? BinaryLogDir { get; set; }
    public string? BinaryLogsKept { get; set; }

    /// <summary>The warning's text when the run logger is not attached to this run, for the run log's own line.</summary>
    [Output] public string? NotAttached { get; set; }

    /// <summary>Set by MSBuild under -question (which asks what would run and changes nothing): nothing is written.</summary>
    public bool FailIfNotIncremental { get; set; }

    protected override bool Run()
    {
        if (FailIfNotIncremental) return true;
        var attached = AppDomain.CurrentDomain.GetData(AttachedKey) != null;
        if (NoAutoResponse(Environment.GetCommandLineArgs()))
        {
            if (!attached) NotAttached = Format("Deploy.RunLoggerNoAutoResponse");
            Detail("Deploy.RunLoggerNoAutoResponse");
            return true;
        }

        var rsp = Path.Combine(ProjectDirectory, "Directory.Build.rsp");
        var existed = File.Exists(rsp);
        var registered = Register(rsp);
        if (!attached && registered)
        {
            NotAttached = Format("Deploy.RunLoggerNotAttached", existed ? "Directory.Build.rsp changed or this run started before it was written"
                : "this is the first run in this folder", rsp);
            Log.LogWarningWithCodeFromResources("Deploy.RunLoggerNotAttached", existed ? "Directory.Build.rsp changed or this run started before it was written"
                : "this is the first run in this folder", rsp);
        }
        else if (!attached)
        {
            NotAttached = Format("Deploy.RunLoggerUnregistered", rsp);
        }
        return true;
    }

    /// <summary>Copies the logger and writes the response file; false (after a warning) when it could not.</summary>
    private bool Register(string rsp)
    {
        if (!File.Exists(LoggerAssembly))
        {
            Log.LogWarningWithCodeFromResources("Deploy.RunLoggerMissing", LoggerAssembly);
            return false;
        }
        var folder = string.IsNullOrWhiteSpace(LoggerFolder) ? Path.Combine(ProjectDirectory, DefaultFolder) : LoggerFolder.Trim();
        var copy = Path.Combine(Path.GetFullPath(folder), Path.GetFileName(LoggerAssembly));

        var parameters = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(ProjectFile)) parameters.Append(";Project=").Append(Path.GetFileName(ProjectFile.Trim()));
        var keep = 10;
        if (!string.IsNullOrWhiteSpace(BinaryLogsKept) && (!int.TryParse(BinaryLogsKept.Trim(), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out keep) || keep > 1000))
        {
            Log.LogWarningWithCodeFromResources("Deploy.BadBinaryLogsKept", BinaryLogsKept);
            keep = 10;
        }
        var relative = Path.GetRelativePath(Path.GetFullPath(ProjectDirectory), copy);
        var named = relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? copy : "%MSBuildThisFileDirectory%" + relative;
        if (Unsafe(named.Replace("%MSBuildThisFileDirectory%", "", StringComparison.Ordinal)) || Unsafe(ProjectDirectory))
        {
            Log.LogWarningWithCodeFromResources("Deploy.RunLoggerPathUnsafe", copy);
            return false;
        }
        // The binary log is written beside the logger's copy while the run lasts and moved to BackupBinaryLogDir (which
        // the logger reads from the project) at its end; with none to keep, none is started.
        if (!string.IsNullOrWhiteSpace(BinaryLogDir) && keep > 0)
            parameters.Append(";BinaryLogs=").Append(Path.GetDirectoryName(named)).Append('/').Append(";Keep=").Append(keep);
        var text = Header + "\n"
            + "# Written by every run of the project beside it (target _BackupRunLogStart); do not edit or commit it. -noAutoResponse leaves it out.\n"
            + $"\"-logger:BackupBuild.Logging.RunLogger,{named}{parameters}\"\n";

        try
        {
            if (File.Exists(rsp))
            {
                var old = File.ReadAllText(rsp);
                if (!old.StartsWith(Header, StringComparison.Ordinal))
                {
                    Log.LogWarningWithCodeFromResources("Deploy.RunLoggerRspNotOurs", rsp, text.Split('\n')[2]);
                    return false;
                }
            }
            // The copy first, the response file last: it never names a file that is not there.
            var bytes = File.ReadAllBytes(LoggerAssembly);
            if (!File.Exists(copy) || !File.ReadAllBytes(copy).AsSpan().SequenceEqual(bytes))
            {
                MakeReadableFolder(Path.GetDirectoryName(copy)!);
                IgnoredByGit(Path.GetDirectoryName(copy)!);
                // Renamed over the old copy, never written into it: a running MSBuild may have it loaded.
                AtomicFile.Write(copy, s => s.Write(bytes));
                Ownership.SetMode(copy, Convert.ToUInt32("644", 8));
            }
            if (!File.Exists(rsp) || File.ReadAllText(rsp) != text)
            {
                AtomicFile.Write(rsp, s => s.Write(Encoding.UTF8.GetBytes(text)));
                Ownership.SetMode(rsp, Convert.ToUInt32("644", 8));
                Detail("Deploy.RunLoggerRegistered", rsp, copy);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogWarningWithCodeFromResources("Deploy.RunLoggerWriteFailed", rsp, e.Message);
            return false;
        }
    }

    /// <summary>
    /// The folders of the logger copy are readable by every user, like the checkout's own files: the request queue's runs
    /// (another user) start MSBuild with the same response file and must be able to load what it names.
    /// </summary>
    private static void MakeReadableFolder(string folder)
    {
        var missing = new Stack<string>();
        for (var p = Path.TrimEndingDirectorySeparator(folder); !string.IsNullOrEmpty(p) && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            missing.Push(p);
        while (missing.Count > 0)
        {
            var f = missing.Pop();
            Directory.CreateDirectory(f);
            Ownership.SetMode(f, Convert.ToUInt32("755", 8));
        }
    }

    /// <summary>
    /// The default folder ignores itself (a .gitignore of "*" inside it): a configuration repository made before the
    /// folder existed (its .gitignore lists obj/ and Directory.Build.rsp only) never shows the logger as a file to commit.
    /// </summary>
    private void IgnoredByGit(string folder)
    {
        if (!string.IsNullOrWhiteSpace(LoggerFolder)) return;
        var ignore = Path.Combine(folder, ".gitignore");
        if (File.Exists(ignore)) return;
        AtomicFile.Write(ignore, s => s.Write("# Written by BackupBuild (RegisterRunLogger): the run logger's copy, not configuration.\n*\n"u8));
        Ownership.SetMode(ignore, Convert.ToUInt32("644", 8));
    }

    /// <summary>Characters a response file or the logger's parameter list would read differently.</summary>
    private static bool Unsafe(string path) => path.IndexOfAny(['"', ';', '%', '\n', '\r', '#']) >= 0 || path.Contains(' ', StringComparison.Ordinal) && path.Contains(',', StringComparison.Ordinal);

    /// <summary>Whether MSBuild was told not to read response files (-noAutoResponse, -noautorsp, /noautoresponse).</summary>
    public static bool NoAutoResponse(IEnumerable<string> args) =>
        args.Any(a => a.Length > 1 && (a[0] == '-' || a[0] == '/')
            && a.TrimStart('-', '/').ToLowerInvariant() is "noautoresponse" or "noautorsp");
}
