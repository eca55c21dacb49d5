using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Deploy;
using Microsoft.Build.Framework;

namespace BackupBuild.Logging;

/// <summary>
/// The run log (BackupLogFile) and the kept binary logs, written by an MSBuild logger that MSBuild loads when it starts:
/// Directory.Build.rsp beside backup.proj names it (targets/deploy.targets writes that file, docs/development.md
/// explains why). From MSBuild's events it writes, one line each (<see cref="RunLogLine"/>): the run's start, each
/// action's start (Before&lt;X&gt;'s or X's start, whichever comes first) and outcome (X's end), every error and warning with
/// its action, code, peer and message, and the run's end. It reads what it needs (the log file, this machine's name,
/// the peers, the actions) from the backup project's evaluation, so nothing is passed on a command line.
/// Parameters (from the response file): LogFile (where lines go when the project could not be read), BinaryLogs (the
/// folder of the kept binary logs), Keep (how many), Project (the file name of the project that registered it).
/// </summary>
public sealed class RunLogger : INodeLogger
{
    /// <summary>Set in the AppDomain while a run logger is attached: the task that registers it checks it.</summary>
    public const string AttachedKey = "BackupBuild.RunLogger.Attached";

    /// <summary>The target that creates the log file (owner, mode): lines wait in memory until it has run.</summary>
    private const string StartTarget = "_BackupRunLogStart";


    public LoggerVerbosity Verbosity { get; set; }
    public string? Parameters { get; set; }

    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly DateTime _startedAt = DateTime.Now;

    // Parameters.
    private string? _fallbackLogFile;
    private string? _binaryLogFolder;
    private int _keep = 10;
    private string? _registeredProject;

    // The backup project, once its root build started.
    private string? _rootFile;
    private readonly HashSet<int> _rootContexts = new();
    private readonly Dictionary<int, (IEnumerable? Properties, IEnumerable? Items)> _evaluations = new();
    private bool _isBackupProject;
    private bool _logEnabled = true;
    private string? _logFile;
    private bool _logReady;
    private readonly List<string> _pending = new();
    private IReadOnlyList<string> _peers = Array.Empty<string>();
    private readonly HashSet<string> _tracked = new(StringComparer.OrdinalIgnoreCase);
    private List<string> _requested = new();
    private string? _keptFolder;
    private int? _keptCount;

    // Actions.
    private readonly List<string> _open = new();
    private readonly Dictionary<string, Stopwatch> _running = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _done = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _upToDate = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _failed = new();
    private string? _firstError;
    private bool _buildFailed;
    private bool _ended;

    // The binary log of this run.
    private ILogger? _binaryLogger;
    private string? _binaryLogFile;
    private string? _binaryLogProblem;
    private bool _inert;

    public void Initialize(IEventSource eventSource, int nodeCount) => Initialize(eventSource);

    public void Initialize(IEventSource eventSource)
    {
        ReadParameters();
        // One run logger per process (the response file and a command line may both name one), and none for the builds
        // of other projects below this folder (this checkout's own solution, for instance).
        // -question asks what would run and changes nothing: no run log lines, no binary log kept.
        var args = Environment.GetCommandLineArgs();
        if (AppDomain.CurrentDomain.GetData(AttachedKey) != null || BuildsAnotherProject(args)
            || args.Any(a => a.Length > 1 && a[0] is '-' or '/' && a.TrimStart('-', '/').ToLowerInvariant() is "question" or "q"))
        {
            _inert = true;
            return;
        }
        AppDomain.CurrentDomain.SetData(AttachedKey, Environment.ProcessId);

        if (eventSource is IEventSource4 withEvaluation) withEvaluation.IncludeEvaluationPropertiesAndItems();
        eventSource.StatusEventRaised += OnStatus;
        eventSource.ProjectStarted += OnProjectStarted;
        eventSource.TargetStarted += OnTargetStarted;
        eventSource.TargetFinished += OnTargetFinished;
        eventSource.MessageRaised += OnMessage;
        eventSource.ErrorRaised += OnError;
        eventSource.WarningRaised += OnWarning;
        eventSource.BuildFinished += OnBuildFinished;
        StartBinaryLog(eventSource);
    }

    public void Shutdown()
    {
        if (_inert) return;
        End();
        try { _binaryLogger?.Shutdown(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or LoggerException) { }
        KeepBinaryLog();
        AppDomain.CurrentDomain.SetData(AttachedKey, null);
    }

    private void ReadParameters()
    {
        foreach (var part in (Parameters ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            var (name, value) = (part[..eq].Trim(), part[(eq + 1)..].Trim());
            switch (name.ToLowerInvariant())
            {
                case "logfile": _fallbackLogFile = value.Length > 0 ? value : null; break;
                case "binarylogs": _binaryLogFolder = value.Length > 0 ? value : null; break;
                case "keep": if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var k)) _keep = k; break;
                case "project": _registeredProject = value.Length > 0 ? value : null; break;
            }
        }
    }

    /// <summary>Whether the command line builds a solution, a C# project or a binary log replay rather than the backup project.</summary>
    internal bool BuildsAnotherProject(string[] args)
    {
        foreach (var arg in args.Skip(1))
        {
            if (arg.StartsWith('-')) continue;
            var name = Path.GetFileName(arg.Trim('"'));
            if (name.EndsWith(".sln", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".slnx", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".slnf", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".binlog", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
                return true;
            if (_registeredProject != null && name.EndsWith("proj", StringComparison.OrdinalIgnoreCase) && File.Exists(arg)
                && !string.Equals(name, _registeredProject, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    // ===== The binary log =====

    private void StartBinaryLog(IEventSource eventSource)
    {
        if (_binaryLogFolder == null || _keep <= 0) return;
        try
        {
            // The logger copy's folder (.backupbuild/ beside the project): readable by all, like the copy, since other users' runs load it.
            CreateFolders(_binaryLogFolder, Convert.ToInt32("755", 8));
            var file = Path.Combine(_binaryLogFolder, string.Create(CultureInfo.InvariantCulture,
                $"{_startedAt:yyyyMMdd-HHmmss}-{Environment.ProcessId}.binlog"));
            // Owner-only from the start, whatever the umask: the binary logger opens the file without truncating its mode.
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (new FileStream(file, options)) { }
            var type = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "Microsoft.Build")
                ?.GetType("Microsoft.Build.Logging.BinaryLogger")
                ?? Type.GetType("Microsoft.Build.Logging.BinaryLogger, Microsoft.Build", throwOnError: true)!;
            var logger = (ILogger)Activator.CreateInstance(type)!;
            // Without the project files embedded (ProjectImports=None): they are the site repository's, in git, and
            // collecting and compressing them at the end of each run cost as much as the rest of the binary log.
            logger.Parameters = "LogFile=" + file + ";ProjectImports=None";
            logger.Verbosity = LoggerVerbosity.Diagnostic;
            logger.Initialize(eventSource);
            _binaryLogger = logger;
            _binaryLogFile = file;
        }
        catch (UnauthorizedAccessException)
        {
            // Another user's run (the request queue's, as ScheduleRequestUser) in a folder the backup's own runs keep:
            // expected, so not worth a warning every few minutes; that run keeps no binary log.
        }
        catch (Exception e) when (e is IOException or LoggerException or TypeLoadException
                                      or InvalidCastException or MissingMethodException or ArgumentException or NotSupportedException
                                      or System.Reflection.TargetInvocationException)
        {
            _binaryLogProblem = string.Format(CultureInfo.InvariantCulture,
                "BKP9310: No binary log is kept of this run: \"{0}\" could not be written ({1}). The run log is written all the same.",
                _binaryLogFolder, (e.InnerException ?? e).Message.TrimEnd('.'));
        }
    }

    /// <summary>mkdir -p, each folder it makes set to exactly <paramref name="mode"/> whatever the umask; existing ones are left alone.</summary>
    private static void CreateFolders(string folder, int mode)
    {
        var missing = new Stack<string>();
        for (var p = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)); !string.IsNullOrEmpty(p) && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            missing.Push(p);
        while (missing.Count > 0)
        {
            var f = missing.Pop();
            Directory.CreateDirectory(f);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(f, (UnixFileMode)mode);
        }
    }

    /// <summary>The binary log's name once the run is known: its start, the process and the targets asked for.</summary>
    private string? KeptBinaryLogPath()
    {
        if (_binaryLogFile == null) return null;
        var folder = _keptFolder ?? Path.GetDirectoryName(_binaryLogFile)!;
        var targets = string.Join('-', _requested.Select(t => new string(t.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.').ToArray()))
            .Where(t => t.Length > 0));
        if (targets.Length > 80) targets = targets[..80];
        return Path.Combine(folder, Path.GetFileNameWithoutExtension(_binaryLogFile) + (targets.Length > 0 ? "-" + targets : "") + ".binlog");
    }

    /// <summary>Renames the closed binary log to its kept name (or deletes it) and keeps only the last ones.</summary>
    private void KeepBinaryLog()
    {
        var current = _binaryLogFile != null && File.Exists(_binaryLogFile) ? _binaryLogFile : null;
        try
        {
            if (!_isBackupProject)
            {
                // A build of something else below the folder: nothing of it is kept.
                if (current != null) File.Delete(current);
                return;
            }
            var keep = _keptCount ?? _keep;
            var folder = _keptFolder ?? (current != null ? Path.GetDirectoryName(current) : _binaryLogFolder);
            if (current != null && keep <= 0) File.Delete(current);
            else if (current != null)
            {
                var kept = KeptBinaryLogPath()!;
                CreateFolders(folder!, Convert.ToInt32("700", 8));
                try { File.Move(current, kept, overwrite: false); }
                catch (IOException) when (!File.Exists(kept))
                {
                    // Another file system: copy (owner-only), then remove the first.
                    var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                    if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                    using (var from = File.OpenRead(current))
                    using (var to = new FileStream(kept, options)) from.CopyTo(to);
                    File.Delete(current);
                }
            }
            if (folder == null || !Directory.Exists(folder)) return;
            // Only names this logger gives: nothing else in the folder is touched.
            var old = Directory.GetFiles(folder, "*.binlog").Where(f => IsKeptName(Path.GetFileName(f)))
                .OrderByDescending(f => Path.GetFileName(f), StringComparer.Ordinal).Skip(Math.Max(keep, 0));
            foreach (var f in old)
            {
                try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    // ===== Events =====

    private void OnStatus(object sender, BuildStatusEventArgs e)
    {
        if (e is ProjectEvaluationFinishedEventArgs f && _rootFile == null && f.BuildEventContext != null)
            lock (_gate) _evaluations[f.BuildEventContext.EvaluationId] = (f.Properties, f.Items);
    }

    private void OnProjectStarted(object sender, ProjectStartedEventArgs e)
    {
        lock (_gate)
        {
            var isRoot = e.ParentProjectBuildEventContext == null
                || e.ParentProjectBuildEventContext.ProjectContextId == BuildEventContext.InvalidProjectContextId;
            if (_rootFile != null && isRoot && _isBackupProject && string.Equals(e.ProjectFile, _rootFile, StringComparison.Ordinal))
            {
                // -restore: MSBuild builds the project twice, its restore first; the second build's targets count too.
                foreach (var t in (e.TargetNames ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    _tracked.Add(t);
                    if (!_requested.Contains(t, StringComparer.OrdinalIgnoreCase)) _requested.Add(t);
                }
            }
            if (_rootFile == null)
            {
                if (!isRoot) return;
                _rootFile = e.ProjectFile;
                var properties = e.Properties;
                var items = e.Items;
                // With evaluation events that carry them (a binary logger asks for it), the project's start has none.
                if ((properties == null || !properties.GetEnumerator().MoveNext()) && e.BuildEventContext != null
                    && _evaluations.TryGetValue(e.BuildEventContext.EvaluationId, out var ev))
                    (properties, items) = ev;
                _evaluations.Clear();
                Configure(e, properties, items);
            }
            if (string.Equals(e.ProjectFile, _rootFile, StringComparison.Ordinal) && e.BuildEventContext != null)
                _rootContexts.Add(e.BuildEventContext.ProjectContextId);
        }
    }

    private void Configure(ProjectStartedEventArgs e, IEnumerable? properties, IEnumerable? items)
    {
        var p = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in properties?.Cast<object>() ?? Enumerable.Empty<object>())
        {
            // MSBuild hands them over as DictionaryEntry (project started) or as its property objects (evaluation).
            var (name, value) = property switch
            {
                DictionaryEntry de => (de.Key as string, (object?)de.Value),
                KeyValuePair<string, string> kv => (kv.Key, kv.Value),
                _ => (Member(property, "Name") as string, null),
            };
            if (name is not ("BackupRunLogActions" or "BackupLog" or "BackupLogFile" or "BackupPeer" or "BackupRunDate"
                or "BackupBinaryLogDir" or "BackupBinaryLogsKept" or "MSBuildProjectDefaultTargets")) continue;
            p[name] = (value ?? Member(property, "EvaluatedValue")) as string ?? "";
        }
        if (!p.TryGetValue("BackupRunLogActions", out var actions)) return; // not a BackupBuild project
        _isBackupProject = true;
        foreach (var a in actions.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) _tracked.Add(a);
        _logEnabled = !string.Equals(p.GetValueOrDefault("BackupLog"), "false", StringComparison.OrdinalIgnoreCase);
        _logFile = p.GetValueOrDefault("BackupLogFile") is { Length: > 0 } f ? f : null;
        if (p.GetValueOrDefault("BackupBinaryLogDir") is { Length: > 0 } dir) _keptFolder = dir;
        if (int.TryParse(p.GetValueOrDefault("BackupBinaryLogsKept"), NumberStyles.None, CultureInfo.InvariantCulture, out var keep)) _keptCount = keep;

        var peers = new List<string>();
        // Cast<object>: the typed enumerator (the evaluation's items are ProjectItemInstance; the untyped one differs).
        foreach (var entry in items?.Cast<object>() ?? Enumerable.Empty<object>())
        {
            string? type;
            ITaskItem? item;
            if (entry is DictionaryEntry de) { type = de.Key as string; item = de.Value as ITaskItem; }
            else { type = Member(entry, "ItemType") as string; item = entry as ITaskItem; }
            if (string.Equals(type, "Peer", StringComparison.Ordinal) && item != null && !peers.Contains(item.ItemSpec)) peers.Add(item.ItemSpec);
        }
        _peers = peers;

        var explicitTargets = !string.IsNullOrWhiteSpace(e.TargetNames);
        _requested = ((explicitTargets ? e.TargetNames : p.GetValueOrDefault("MSBuildProjectDefaultTargets") ?? "") ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var t in _requested) _tracked.Add(t);

        var targets = explicitTargets ? "-t:" + string.Join(';', _requested) : "(default targets)";
        var day = RunDay(p.GetValueOrDefault("BackupRunDate")) is { } d ? ", run date " + d : "";
        Write("INFO", $"run started: {Path.GetFileName(e.ProjectFile)} {targets} on {RunLogLine.Machine(Environment.MachineName, p.GetValueOrDefault("BackupPeer"))} as {Environment.UserName}{day}");
        if (_binaryLogProblem != null) Write("WARN", RunLogLine.ProblemTextOf(RunLogLine.NoAction, "BKP9310", null, _binaryLogProblem[9..]));
    }

    // Plain code rather than regular expressions: the run logger is loaded in every run, and building a Regex costs each
    // run more start-up (compiling the parser and the interpreter's methods) than the whole check.

    /// <summary>A name this logger gives a kept binary log: yyyyMMdd-HHmmss-pid[-targets].binlog, targets of [A-Za-z0-9_.-].</summary>
    internal static bool IsKeptName(string name)
    {
        const string extension = ".binlog";
        if (name.Length < 8 + 1 + 6 + 1 + 1 + extension.Length || !name.EndsWith(extension, StringComparison.Ordinal)) return false;
        var stem = name.AsSpan(0, name.Length - extension.Length);
        for (var i = 0; i < 15; i++)
            if (i == 8 ? stem[i] != '-' : !char.IsAsciiDigit(stem[i])) return false;
        if (stem[15] != '-') return false;
        var j = 16;
        while (j < stem.Length && char.IsAsciiDigit(stem[j])) j++;
        if (j == 16) return false;
        if (j == stem.Length) return true;
        if (stem[j] != '-' || j + 1 == stem.Length) return false;
        foreach (var c in stem[(j + 1)..])
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        return true;
    }

    /// <summary>The yyyy-MM-dd that BackupRunDate starts with (after blanks), or null.</summary>
    internal static string? RunDay(string? runDate)
    {
        var t = (runDate ?? "").TrimStart();
        if (t.Length < 10) return null;
        for (var i = 0; i < 10; i++)
            if (i is 4 or 7 ? t[i] != '-' : !char.IsAsciiDigit(t[i])) return null;
        return t[..10];
    }

    private static object? Member(object o, string name) => o.GetType().GetProperty(name)?.GetValue(o);

    private bool InRoot(BuildEventArgs e) => e.BuildEventContext != null && _rootContexts.Contains(e.BuildEventContext.ProjectContextId);

    /// <summary>The action a target starts: X itself, Before&lt;X&gt; or _BackupStart&lt;X&gt; (the first steps of X's DependsOn).</summary>
    private string? ActionStartedBy(string target)
    {
        if (_tracked.Contains(target)) return target;
        foreach (var prefix in StartPrefixes)
            if (target.StartsWith(prefix, StringComparison.Ordinal) && _tracked.Contains(target[prefix.Length..])) return target[prefix.Length..];
        return null;
    }

    private static readonly string[] StartPrefixes = ["_BackupStart", "Before"];

    private void OnTargetStarted(object sender, TargetStartedEventArgs e)
    {
        lock (_gate)
        {
            if (!_isBackupProject || !InRoot(e)) return;
            if (ActionStartedBy(e.TargetName) is not { } action || _running.ContainsKey(action) || _done.Contains(action)) return;
            _running[action] = Stopwatch.StartNew();
            _open.Add(action);
            Write("INFO", action + ": started");
        }
    }

    private void OnTargetFinished(object sender, TargetFinishedEventArgs e)
    {
        lock (_gate)
        {
            if (!_isBackupProject || !InRoot(e)) return;
            if (string.Equals(e.TargetName, StartTarget, StringComparison.Ordinal))
            {
                if (e.Succeeded) Flush();
                return;
            }
            if (_running.ContainsKey(e.TargetName)) Finish(e.TargetName, e.Succeeded);
        }
    }

    private void OnMessage(object sender, BuildMessageEventArgs e)
    {
        if (e is not TargetSkippedEventArgs s) return;
        lock (_gate)
        {
            if (!_isBackupProject || !InRoot(s) || s.TargetName is not { } name || !_tracked.Contains(name) || _done.Contains(name)) return;
            if (s.SkipReason == TargetSkipReason.OutputsUpToDate)
            {
                _upToDate.Add(name);
            }
            else if (s.SkipReason == TargetSkipReason.ConditionWasFalse && _requested.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                _done.Add(name);
                _running.Remove(name);
                _open.Remove(name);
                Write("INFO", $"{name}: skipped (its condition is false: {RunLogLine.OneLine(s.Condition ?? "")})");
            }
        }
    }

    private void OnError(object sender, BuildErrorEventArgs e) => Problem(true, e.Code, e.Message ?? "", e.File, e.LineNumber);

    private void OnWarning(object sender, BuildWarningEventArgs e) => Problem(false, e.Code, e.Message ?? "", e.File, e.LineNumber);

    private void OnBuildFinished(object sender, BuildFinishedEventArgs e)
    {
        lock (_gate) _buildFailed = !e.Succeeded;
        End();
    }

    // ===== Lines =====

    private string CurrentAction => _open.Count > 0 ? _open[^1] : RunLogLine.NoAction;

    private void Problem(bool isError, string? code, string message, string? file, int line)
    {
        lock (_gate)
        {
            if (_ended) return;
            var action = CurrentAction;
            // MSBuild's own problems (a project file that does not parse, an Exec that failed) say where.
            if (!string.IsNullOrEmpty(file) && !(code ?? "").StartsWith("BKP", StringComparison.Ordinal)
                && !message.Contains(file, StringComparison.Ordinal))
                message += line > 0 ? $" ({file}, line {line})" : $" ({file})";
            var text = RunLogLine.ProblemTextOf(action, code, RunLogLine.PeerNamedIn(message, _peers), message);
            if (isError)
            {
                if (!_errors.TryGetValue(action, out var list)) _errors[action] = list = new List<string>();
                var withoutAction = text[(action.Length + 2)..];
                list.Add(withoutAction);
                _firstError ??= withoutAction;
            }
            Write(isError ? "ERROR" : "WARN", text);
        }
    }

    private void Finish(string action, bool succeeded)
    {
        var took = _running.Remove(action, out var sw) ? sw.Elapsed : TimeSpan.Zero;
        _open.Remove(action);
        _done.Add(action);
        if (succeeded)
        {
            Write("INFO", $"{action}: succeeded ({(_upToDate.Contains(action) ? "up to date, " : "")}{RunLogLine.Seconds(took)})");
            return;
        }
        _failed.Add(action);
        Write("ERROR", $"{action}: failed ({WhyFailed(action, started: true)})");
    }

    private string WhyFailed(string action, bool started) =>
        _errors.TryGetValue(action, out var list) ? list[0] + (list.Count > 1 ? $"; {list.Count - 1} more above" : "")
        : !started ? "it did not start: a step before it failed"
        : _failed.Count > 0 ? _failed[0] + " failed"
        : _firstError ?? "MSBuild reported it failed without an error" + (_binaryLogFile != null ? ": see the binary log" : "");

    /// <summary>The outcome of every unfinished action and the run's end status, once.</summary>
    private void End()
    {
        lock (_gate)
        {
            if (_ended) return;
            if (_isBackupProject)
            {
                // Innermost first: Stage failed, so All did.
                foreach (var action in _open.AsEnumerable().Reverse().ToList())
                {
                    _running.Remove(action);
                    _open.Remove(action);
                    _done.Add(action);
                    _failed.Add(action);
                    Write("ERROR", $"{action}: failed ({WhyFailed(action, started: true)})");
                }
                foreach (var action in _requested.Where(t => !_done.Contains(t)))
                {
                    _done.Add(action);
                    _failed.Add(action);
                    Write("ERROR", $"{action}: failed ({WhyFailed(action, started: false)})");
                }
                if (_buildFailed && _failed.Count == 0) _failed.Add(RunLogLine.NoAction);
                var status = _failed.Count > 0 ? "failed (" + string.Join(", ", _failed) + ")" : "succeeded";
                var kept = (_keptCount ?? _keep) > 0 ? KeptBinaryLogPath() : null;
                Write(_failed.Count == 0 ? "INFO" : "ERROR",
                    $"run ended: {status} after {RunLogLine.Seconds(_clock.Elapsed)}" + (kept != null ? "; binary log " + kept : ""));
            }
            else if (_rootFile == null && _fallbackLogFile != null && _pending.Count > 0)
            {
                // The backup project could not be read (it does not parse, an import is missing): its errors go to the
                // log named when the logger was registered.
                _logFile = _fallbackLogFile;
                _pending.Insert(0, RunLogLine.Format(DateTimeOffset.Now, Environment.ProcessId, "INFO", "run started: the project could not be read"));
                Write(_buildFailed ? "ERROR" : "INFO", $"run ended: {(_buildFailed ? "failed (run)" : "succeeded")} after {RunLogLine.Seconds(_clock.Elapsed)}");
            }
            _ended = true;
            // The log file was never set up in this run (an early failure): append to it if it exists already.
            if (!_logReady && _logEnabled && _logFile != null && File.Exists(_logFile)) Flush();
            _pending.Clear();
        }
    }

    private void Write(string level, string text)
    {
        if (!_logEnabled) return;
        var line = RunLogLine.Format(DateTimeOffset.Now, Environment.ProcessId, level, text);
        if (_logReady && _logFile != null) Append(_logFile, line);
        else _pending.Add(line);
    }

    private void Flush()
    {
        _logReady = true;
        if (!_logEnabled || _logFile == null) { _pending.Clear(); return; }
        if (_pending.Count > 0) Append(_logFile, string.Concat(_pending));
        _pending.Clear();
    }

    /// <summary>One write with O_APPEND: concurrent runs interleave whole lines.</summary>
    private static void Append(string file, string text)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(Encoding.UTF8.GetBytes(text));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
