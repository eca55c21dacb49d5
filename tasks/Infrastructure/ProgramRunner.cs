using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using TaskLoggingHelper = Microsoft.Build.Utilities.TaskLoggingHelper;
using Task = System.Threading.Tasks.Task;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>How a program is run: everything but its name and arguments. Every setting has a safe default.</summary>
public sealed record ProgramOptions
{
    /// <summary>Variables to set (a value) or remove (null) for the program.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }
    /// <summary>LC_ALL=C, so messages that callers classify are the untranslated ones.</summary>
    public bool CLocale { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>Standard input as text (UTF-8); with neither this nor <see cref="InputStream"/> it is closed at once.</summary>
    public string? Input { get; init; }
    /// <summary>Standard input copied from this stream; a failure to read it is thrown by Wait, one to write it ends the copy.</summary>
    public Stream? InputStream { get; init; }
    /// <summary>Standard output copied into this stream (not kept); a failure to write it stops the program and is thrown by Wait.</summary>
    public Stream? OutputTo { get; init; }
    /// <summary>Standard output kept in memory up to this many bytes: one more and the program is stopped (<see cref="ProgramResult.Overflowed"/>).</summary>
    public long OutputLimit { get; init; } = 64L * 1024 * 1024;
    /// <summary>The caller reads standard output itself from <see cref="RunningProgram.StandardOutput"/> (Start only).</summary>
    public bool CallerReadsOutput { get; init; }
    /// <summary>Every line of standard output and standard error, in order of arrival (output is then not kept).</summary>
    public Action<string>? Lines { get; init; }
    /// <summary>Indexes of arguments that are never logged (written as ***).</summary>
    public IReadOnlyCollection<int>? SecretArguments { get; init; }
    /// <summary>Where the command, exit code and error tail go; by default the log of the task that is running.</summary>
    public Action<MessageImportance, string>? Log { get; init; }
}

/// <summary>How a program ended. <see cref="Output"/> is standard output as text, <see cref="Error"/> the end of standard error.</summary>
public sealed record ProgramResult(int ExitCode, byte[] OutputBytes, string Error, bool TimedOut, bool Overflowed)
{
    /// <summary>The program could not be started (not found, not executable): ExitCode is 127 and Error says why.</summary>
    public bool NotStarted { get; init; }
    public TimeSpan Elapsed { get; init; }

    public bool Succeeded => ExitCode == 0 && !TimedOut && !Overflowed;

    public string Output => Encoding.UTF8.GetString(OutputBytes);
}

/// <summary>
/// The one way BackupBuild runs an external program (ssh, rsync, scp, sftp, git, gpg, xorriso, dump programs,
/// sendmail, hooks, a site's encrypt command): an argument list (never a shell string), a time limit, and
/// cancellation that stops the program's whole process tree. Each program starts in a session and process group
/// of its own (through setsid), so a terminal's Ctrl+C reaches only MSBuild, which cancels the task; stopping
/// sends SIGTERM to the group, then SIGKILL to the group and to every descendant after <see cref="Grace"/>.
/// The command (secrets left out), its exit code and, on failure, the end of its standard error are logged.
/// </summary>
public static class ProgramRunner
{
    /// <summary>How much of standard error is kept (its end, where programs put the reason).</summary>
    public const int ErrorTail = 64 * 1024;

    /// <summary>Time between SIGTERM and SIGKILL.</summary>
    public static TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(2);

    private sealed record Ambient(Action<MessageImportance, string> Log, CancellationToken Cancel);

    private static readonly AsyncLocal<Ambient?> Current = new();

    /// <summary>
    /// Set by BackupTask for the duration of a task: every program started on its behalf (on any thread it starts)
    /// logs to its log and is stopped by its cancellation (MSBuild's Cancel, i.e. Ctrl+C).
    /// </summary>
    internal static IDisposable ForTask(TaskLoggingHelper log, CancellationToken cancel)
    {
        var previous = Current.Value;
        Current.Value = new Ambient((importance, message) =>
        {
            try { log.LogMessageFromResources(importance, "Runner.Line", message); }
            catch (InvalidOperationException) { } // the task has ended: MSBuild takes no more messages
        }, cancel);
        return new Restore(() => Current.Value = previous);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>Runs the program to its end and returns how it ended; throws OperationCanceledException when cancelled.</summary>
    public static ProgramResult Run(string program, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancel,
        ProgramOptions? options = null)
    {
        using var running = Start(program, arguments, timeout, cancel, options);
        return running.Wait();
    }

    /// <summary>
    /// Starts the program. Unless <see cref="ProgramOptions.OutputTo"/> or <see cref="ProgramOptions.Lines"/> is given, the caller
    /// may read standard output itself from <see cref="RunningProgram.StandardOutput"/> (then nothing is kept); Wait returns the result.
    /// Disposing a program that has not ended stops it.
    /// </summary>
    public static RunningProgram Start(string program, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancel,
        ProgramOptions? options = null) => new(program, arguments.ToList(), timeout, cancel, options ?? new ProgramOptions());

    /// <summary>The command line as it is logged: secrets (passwords in URLs, values of password options, marked arguments) as ***.</summary>
    public static string Shown(string program, IReadOnlyList<string> arguments, IReadOnlyCollection<int>? secret = null)
    {
        var shown = new StringBuilder(Quote(program));
        for (var i = 0; i < arguments.Count; i++)
        {
            var a = arguments[i];
            string text;
            if (secret?.Contains(i) == true || (i > 0 && Secrets.SecretOption.IsMatch(arguments[i - 1]) && !arguments[i - 1].Contains('='))) text = "***";
            else text = Secrets.UrlPassword.Replace(Secrets.SecretAssignment.Replace(a, "$1***"), "$1$2:***@");
            shown.Append(' ').Append(Quote(text));
        }
        return shown.ToString();
    }

    // What only a started program needs lives in classes of its own, built when the first program starts: every task
    // enters ForTask, and building these (three regular expressions, a PATH search, an exit hook) in the first task of
    // every run cost each run several milliseconds that an up-to-date run never uses (docs/development.md, start-up).
    private static class Secrets
    {
        internal static readonly Regex SecretOption = new(@"^--?(passphrase|password|passwd|pass|secret|token)$", RegexOptions.IgnoreCase);
        internal static readonly Regex SecretAssignment = new(@"^(--?(?:passphrase|password|passwd|pass|secret|token)=).*$", RegexOptions.IgnoreCase | RegexOptions.Singleline);
        internal static readonly Regex UrlPassword = new(@"([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@:\s]*):[^/@\s]*@");
    }

    private static string Quote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:@,+%*".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";

    internal static Action<MessageImportance, string>? LogFor(ProgramOptions options) => options.Log ?? Current.Value?.Log;
    internal static CancellationToken AmbientCancel => Current.Value?.Cancel ?? CancellationToken.None;

    /// <summary>Finds the program as execvp would; null when there is none.</summary>
    internal static string? Resolve(string program)
    {
        if (program.Length == 0) return null;
        if (program.Contains('/')) return Executable(program) ? program : null;
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, program);
            if (Executable(candidate)) return candidate;
        }
        return null;
    }

    private static bool Executable(string path) =>
        File.Exists(path) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) &
            (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    internal static string? Setsid => Children.Setsid;

    /// <summary>Programs still running, stopped when the build process exits (SIGTERM to MSBuild, an unhandled exit).</summary>
    internal static HashSet<RunningProgram> Live => Children.Live;

    /// <summary>Set up when the first program starts (<see cref="RunningProgram"/> reads Setsid, then adds itself to Live).</summary>
    private static class Children
    {
        internal static readonly string? Setsid = Resolve("setsid");
        internal static readonly HashSet<RunningProgram> Live = new();

        static Children()
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                List<RunningProgram> live;
                lock (Live) live = Live.ToList();
                foreach (var p in live) p.Signal(Signals.Kill);
            };
        }
    }

    internal static class Signals
    {
        public const int Term = 15, Kill = 9;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int SendTo(int pid, int signal);

        [DllImport("libc", EntryPoint = "getpgid", SetLastError = true)]
        public static extern int GroupOf(int pid);

        [DllImport("libc", EntryPoint = "getpgrp")]
        public static extern int OwnGroup();
    }
}

/// <summary>A program <see cref="ProgramRunner.Start"/> started.</summary>
public sealed class RunningProgram : IDisposable
{
    private readonly Process? _process;
    private readonly string _program;
    private readonly string _shown;
    private readonly ProgramOptions _options;
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _cancel;
    private readonly CancellationTokenRegistration _onCancel, _onAmbientCancel;
    private readonly Timer? _timer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TailBuffer _error = new(ProgramRunner.ErrorTail);
    private readonly MemoryStream _output = new();
    private readonly List<Task> _readers = new();
    private readonly Task _feed = Task.CompletedTask;
    private readonly string? _notStarted;
    private readonly object _lineLock = new();
    private ExceptionDispatchInfo? _failure;
    private int _pgid;
    private bool _timedOut, _overflowed, _cancelled, _stopping, _waited;
    private ProgramResult? _result;

    internal RunningProgram(string program, List<string> arguments, TimeSpan timeout, CancellationToken cancel, ProgramOptions options)
    {
        _program = program;
        _options = options;
        _timeout = timeout;
        _cancel = cancel;
        _shown = ProgramRunner.Shown(program, arguments, options.SecretArguments);
        Log(MessageImportance.Low, "running: " + _shown);

        var resolved = ProgramRunner.Resolve(program);
        if (resolved == null)
        {
            _notStarted = $"{program}: " + (program.Contains('/') && File.Exists(program) ? "Permission denied" : "No such file or directory");
            StandardOutput = Stream.Null;
            return;
        }
        var info = new ProcessStartInfo(ProgramRunner.Setsid ?? resolved)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        if (ProgramRunner.Setsid != null)
        {
            // A session and process group of its own: the group is what is stopped, grandchildren included.
            info.ArgumentList.Add("-w");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(resolved);
        }
        foreach (var a in arguments) info.ArgumentList.Add(a);
        if (options.WorkingDirectory != null) info.WorkingDirectory = options.WorkingDirectory;
        if (options.CLocale) info.Environment["LC_ALL"] = "C";
        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string?>())
        {
            if (value == null) info.Environment.Remove(name); else info.Environment[name] = value;
        }
        _process = new Process { StartInfo = info };
        try
        {
            cancel.ThrowIfCancellationRequested();
            ProgramRunner.AmbientCancel.ThrowIfCancellationRequested();
            _process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _process.Dispose();
            _process = null;
            _notStarted = $"{program}: {e.Message}";
            StandardOutput = Stream.Null;
            return;
        }
        lock (ProgramRunner.Live) ProgramRunner.Live.Add(this);

        if (options.Input != null || options.InputStream != null)
            _feed = Task.Run(() => Feed(options.InputStream ?? new MemoryStream(Encoding.UTF8.GetBytes(options.Input!))));
        else
            try { _process.StandardInput.Close(); } catch (IOException) { } // a program that never reads its input may be gone already

        var stdout = _process.StandardOutput.BaseStream;
        var stderr = _process.StandardError.BaseStream;
        StandardOutput = stdout;
        if (options.Lines != null)
        {
            _readers.Add(Task.Run(() => ReadLines(stdout, error: false)));
            _readers.Add(Task.Run(() => ReadLines(stderr, error: true)));
            StandardOutput = Stream.Null;
        }
        else
        {
            _readers.Add(Task.Run(() => ReadError(stderr)));
            if (options.OutputTo != null || !CallerReads)
            {
                _readers.Add(Task.Run(() => ReadOutput(stdout)));
                StandardOutput = Stream.Null;
            }
        }
        if (timeout != Timeout.InfiniteTimeSpan)
            _timer = new Timer(_ => { if (_process.HasExited) return; _timedOut = true; Stop(); }, null, timeout, Timeout.InfiniteTimeSpan);
        _onCancel = cancel.Register(() => { _cancelled = true; Stop(); });
        var ambient = ProgramRunner.AmbientCancel;
        if (ambient != cancel) _onAmbientCancel = ambient.Register(() => { _cancelled = true; Stop(); });
    }

    private bool CallerReads => _options.CallerReadsOutput;

    /// <summary>Standard output for a caller that reads it itself (<see cref="ProgramOptions.CallerReadsOutput"/>).</summary>
    public Stream StandardOutput { get; }

    public int Id => _process?.Id ?? 0;

    /// <summary>The program could not be started; Wait says why.</summary>
    public bool NotStarted => _process == null;

    public bool HasExited => _process == null || _process.HasExited;

    /// <summary>Waits for the program (and its output) to end; throws OperationCanceledException when it was cancelled.</summary>
    public ProgramResult Wait()
    {
        if (_result != null) return _result;
        if (_process == null)
        {
            Log(MessageImportance.Normal, $"{_program} could not be started: {_notStarted}");
            return _result = new ProgramResult(127, [], _notStarted!, false, false) { NotStarted = true };
        }
        _process.WaitForExit();
        // The program has ended, but what it started may still hold its output open: not waited for forever.
        if (!Task.WaitAll(_readers.ToArray(), _stopping ? ProgramRunner.Grace + TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30)))
        {
            Signal(ProgramRunner.Signals.Kill);
            Task.WaitAll(_readers.ToArray(), TimeSpan.FromSeconds(10));
        }
        if (_stopping) EnsureGroupGone();
        try { _feed.Wait(TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
        _timer?.Dispose();
        _onCancel.Dispose();
        _onAmbientCancel.Dispose();
        lock (ProgramRunner.Live) ProgramRunner.Live.Remove(this);
        _waited = true;

        var exit = _process.ExitCode;
        var elapsed = _clock.Elapsed;
        var tail = _error.Text;
        var how = _cancelled ? "was cancelled and stopped" : _timedOut ? $"ran past its {(int)_timeout.TotalSeconds} s and was stopped"
            : _overflowed ? "printed too much and was stopped" : $"exited with code {exit}";
        if (exit == 0 && !_cancelled && !_timedOut && !_overflowed)
            Log(MessageImportance.Low, $"{_program} {how} after {elapsed.TotalSeconds:0.0} s");
        else
            Log(MessageImportance.Normal, $"{_program} {how} after {elapsed.TotalSeconds:0.0} s" + (tail.Trim().Length == 0 ? "" : ": " + LastLines(tail)));
        _result = new ProgramResult(exit, _overflowed ? [] : _output.ToArray(), tail, _timedOut, _overflowed) { Elapsed = elapsed };
        if (_cancelled)
        {
            _cancel.ThrowIfCancellationRequested();
            ProgramRunner.AmbientCancel.ThrowIfCancellationRequested();
        }
        _failure?.Throw();
        if (_feedFailure != null) _feedFailure.Throw();
        return _result;
    }

    /// <summary>Stops the program: SIGTERM to its group now, SIGKILL to the group and its descendants after the grace.</summary>
    public void Stop()
    {
        lock (_lineLock)
        {
            if (_stopping || _process == null) return;
            _stopping = true;
        }
        Signal(ProgramRunner.Signals.Term);
        var kill = new Timer(_ => { if (!_waited || GroupAlive()) Signal(ProgramRunner.Signals.Kill); }, null, ProgramRunner.Grace, Timeout.InfiniteTimeSpan);
        _killTimer = kill;
    }

    private Timer? _killTimer;
    private ExceptionDispatchInfo? _feedFailure;

    internal void Signal(int signal)
    {
        if (_process == null) return;
        var pid = _process.Id;
        var group = Volatile.Read(ref _pgid);
        if (group == 0)
        {
            var g = ProgramRunner.Signals.GroupOf(pid);
            // setsid has made the program a group leader; -1 (gone) means it ran, and so did setsid before it.
            if (ProgramRunner.Setsid != null && (g == pid || (g == -1 && _process.HasExited))) Volatile.Write(ref _pgid, group = pid);
        }
        if (group > 1 && group != ProgramRunner.Signals.OwnGroup()) ProgramRunner.Signals.SendTo(-group, signal);
        if (signal == ProgramRunner.Signals.Kill || group == 0)
        {
            // Also whatever left the group but is still below the program (and the program itself, before setsid ran).
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }

    private bool GroupAlive() => _pgid > 1 && ProgramRunner.Signals.SendTo(-_pgid, 0) == 0;

    /// <summary>After a stop: waits up to the grace for the group to go, then kills what is left, so nothing outlives the run.</summary>
    private void EnsureGroupGone()
    {
        var until = DateTime.UtcNow + ProgramRunner.Grace;
        while (GroupAlive() && DateTime.UtcNow < until) Thread.Sleep(20);
        if (GroupAlive()) Signal(ProgramRunner.Signals.Kill);
        _killTimer?.Dispose();
    }

    private void Feed(Stream input)
    {
        var stdin = _process!.StandardInput.BaseStream;
        var buffer = new byte[1 << 16];
        try
        {
            while (true)
            {
                int n;
                try { n = input.Read(buffer, 0, buffer.Length); }
                catch (Exception e)
                {
                    _feedFailure = ExceptionDispatchInfo.Capture(e); // the input's own failure goes up as it is
                    Stop();
                    return;
                }
                if (n == 0) break;
                try { stdin.Write(buffer, 0, n); }
                catch (IOException) { return; } // the program stopped reading: its exit code says why
            }
        }
        finally
        {
            try { stdin.Dispose(); } catch (IOException) { }
        }
    }

    private void ReadOutput(Stream stdout)
    {
        var buffer = new byte[1 << 16];
        while (true)
        {
            int read;
            try { read = stdout.Read(buffer, 0, buffer.Length); }
            catch (IOException) { return; }
            if (read == 0) return;
            if (_options.OutputTo != null)
            {
                try { _options.OutputTo.Write(buffer, 0, read); }
                catch (Exception e)
                {
                    _failure ??= ExceptionDispatchInfo.Capture(e); // the sink failed (a full disk): the program is stopped
                    Stop();
                    return;
                }
                continue;
            }
            if (_output.Length + read > _options.OutputLimit)
            {
                // Enforced while reading: the rest is never read, and the program is stopped.
                _overflowed = true;
                Stop();
                return;
            }
            _output.Write(buffer, 0, read);
        }
    }

    private void ReadError(Stream stderr)
    {
        var buffer = new byte[1 << 14];
        int read;
        try
        {
            while ((read = stderr.Read(buffer, 0, buffer.Length)) > 0) _error.Add(buffer.AsSpan(0, read));
        }
        catch (IOException) { }
    }

    private void ReadLines(Stream stream, bool error)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (error) _error.Add(Encoding.UTF8.GetBytes(line + "\n"));
            lock (_lineLock) _options.Lines!(line);
        }
    }

    private void Log(MessageImportance importance, string message) => ProgramRunner.LogFor(_options)?.Invoke(importance, message);

    private static string LastLines(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" / ", lines.TakeLast(3));
    }

    public void Dispose()
    {
        if (_process == null) return;
        if (!_waited)
        {
            if (!_process.HasExited) Stop();
            try { Wait(); } catch (Exception) { } // stopped by its owner: how it ended is no longer asked
        }
        _process.Dispose();
    }

    /// <summary>The last <c>limit</c> bytes of a stream, decoded as text (invalid bytes replaced) at the end.</summary>
    private sealed class TailBuffer(int limit)
    {
        private byte[] _bytes = [];

        public void Add(ReadOnlySpan<byte> chunk)
        {
            lock (this)
            {
                var keep = Math.Min(_bytes.Length + chunk.Length, limit);
                var next = new byte[keep];
                var fromChunk = Math.Min(chunk.Length, keep);
                var fromOld = keep - fromChunk;
                _bytes.AsSpan(_bytes.Length - fromOld).CopyTo(next);
                chunk[(chunk.Length - fromChunk)..].CopyTo(next.AsSpan(fromOld));
                _bytes = next;
            }
        }

        public string Text
        {
            get { lock (this) return Encoding.UTF8.GetString(_bytes); }
        }
    }
}
