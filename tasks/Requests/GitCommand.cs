using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>Runs the git program with an argument list, never prompting, reaching remotes through our ssh options.</summary>
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

    /// <summary>A bare repository at GitDir, created when missing.</summary>
    public void EnsureBare()
    {
        if (File.Exists(Path.Combine(GitDir, "HEAD"))) return;
        Directory.CreateDirectory(GitDir);
        var r = ProgramRunner.Run(Program, new[] { "init", "--bare", "-q", GitDir }, Timeout, Cancel, new ProgramOptions { CLocale = true, Environment = _environment });
        if (!r.Succeeded) throw new GitFailure("init", r);
    }

    /// <summary>The object a ref points at, or null when it does not exist.</summary>
    public string? Resolve(string refName)
    {
        var r = Run("rev-parse", "-q", "--verify", refName + "^{commit}");
        return r.Succeeded ? r.Output.Trim() : null;
    }

    /// <summary>Writes a commit whose tree holds one file per entry, with <paramref name="parent"/>; returns its id.</summary>
    public string CommitFlatTree(IEnumerable<(string Name, string Content)> files, string? parent, string message)
    {
        var lines = new List<string>();
        foreach (var (name, content) in files.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var blob = OutputWithInput(content, "hash-object", "-w", "--stdin");
            lines.Add($"100644 blob {blob}\t{name}");
        }
        var tree = OutputWithInput(string.Join("\n", lines) + (lines.Count > 0 ? "\n" : ""), "mktree");
        if (parent != null && Output("rev-parse", parent + "^{tree}") == tree) return parent;
        var args = new List<string> { "commit-tree", tree, "-m", message };
        if (parent != null) { args.Add("-p"); args.Add(parent); }
        return Output(args.ToArray());
    }

    /// <summary>The files of a commit's (flat) tree: name → content.</summary>
    public Dictionary<string, string> ReadFlatTree(string commit)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Output("ls-tree", "-z", commit).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t');
            var parts = line[..tab].Split(' ');
            if (parts.Length != 3 || parts[1] != "blob") continue;
            result[line[(tab + 1)..]] = Output("cat-file", "blob", parts[2]);
        }
        return result;
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

    public ProgramResult Result { get; }

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
