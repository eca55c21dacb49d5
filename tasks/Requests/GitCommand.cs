using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// Runs the git program with an argument list, never prompting, reaching remotes through our ssh options: the
/// conversations with another machine (push, ls-remote, fetch). Work on the local repository is in-process
/// (<see cref="ControlRepository"/>, LibGit2Sharp).
/// </summary>
public sealed class GitCommand
{
    private readonly Dictionary<string, string?> _environment = new()
    {
        ["GIT_TERMINAL_PROMPT"] = "0", ["GIT_ASKPASS"] = "true", ["SSH_ASKPASS"] = "true",
        ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_AUTHOR_NAME"] = "BackupBuild", ["GIT_AUTHOR_EMAIL"] = "backupbuild@localhost",
        ["GIT_COMMITTER_NAME"] = "BackupBuild", ["GIT_COMMITTER_EMAIL"] = "backupbuild@localhost",
    };

    public GitCommand(string gitDir, SshEndpoint? ssh, TimeSpan timeout, CancellationToken cancel, string program = "git")
    {
        GitDir = gitDir;
        Timeout = timeout;
        Cancel = cancel;
        Program = program;
        // git runs GIT_SSH_COMMAND through the shell: every word is quoted (RemoteShell.Quote).
        if (ssh != null) _environment["GIT_SSH_COMMAND"] = ssh.ShellCommandLine;
        else _environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes";
    }

    public string GitDir { get; }
    public TimeSpan Timeout { get; }
    public CancellationToken Cancel { get; }
    public string Program { get; }

    public ProgramResult Run(params string[] args) => RunWithInput(null, args);

    public ProgramResult RunWithInput(string? input, params string[] args)
    {
        var all = new List<string> { "--git-dir=" + GitDir };
        all.AddRange(args);
        return ProgramRunner.Run(Program, all, Timeout, Cancel, new ProgramOptions { CLocale = true, Environment = _environment, Input = input });
    }

    /// <summary>Runs git and returns its trimmed output, or throws <see cref="GitFailure"/>.</summary>
    public string Output(params string[] args) => OutputWithInput(null, args);

    public string OutputWithInput(string? input, params string[] args)
    {
        var r = RunWithInput(input, args);
        if (!r.Succeeded) throw new GitFailure(args.FirstOrDefault() ?? "", r);
        return r.Output.TrimEnd('\n');
    }
}

public sealed class GitFailure : Exception
{
    public GitFailure(string command, ProgramResult result)
        : base($"git {command} " + (result.TimedOut ? "timed out" : $"exited with {result.ExitCode}") +
               (result.Error.Trim().Length > 0 ? ": " + LastLines(result.Error) : ""))
    {
        Result = result;
    }

    /// <summary>A failure of the in-process repository work (<see cref="ControlRepository"/>).</summary>
    public GitFailure(string message) : base(message) { }

    public ProgramResult? Result { get; }

    /// <summary>
    /// The last three lines of a program's errors, after the first lines that say why (git's "fatal:" and "error:"
    /// lines, such as "detected dubious ownership in repository at …"), which git's generic ending
    /// ("Could not read from remote repository … and the repository exists.") would otherwise push out.
    /// </summary>
    public static string LastLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var tail = lines.TakeLast(3).ToList();
        var causes = lines.Where(l => (l.StartsWith("fatal:", StringComparison.Ordinal) || l.StartsWith("error:", StringComparison.Ordinal))
                && !l.Contains("Could not read from remote repository", StringComparison.Ordinal) && !tail.Contains(l))
            .Distinct().Take(2);
        return string.Join(" / ", causes.Concat(tail));
    }
}
