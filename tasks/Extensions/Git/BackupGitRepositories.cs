using System.Text;
using BackupBuild.Tasks.Extensions.Repositories;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Git;

/// <summary>
/// The request-queue system's git module: each GitRepository (a path on this machine or a URL)
/// written as `git bundle create --all` into CollectDir as git-&lt;normalized path&gt;.bundle, which
/// clones with every ref and all history. A URL is first mirrored into WorkingDir/git-mirrors
/// (clone --mirror, then remote update --prune). Incremental items are bundled again only when a
/// ref moved since the last bundle (the refs are kept in WorkingDir/&lt;normalized path&gt;.gitrefs).
/// </summary>
public sealed class BackupGitRepositories : ModuleTaskBase
{
    protected override Settings.ModuleGroup Group => Settings.ModuleGroup.Git;
    private static readonly string[] Metadata = { "CollectMode" };
    private static readonly Dictionary<string, string?> GitEnvironment = new()
    {
        // Never wait for a password or a host-key answer: a backup runs unattended.
        ["GIT_TERMINAL_PROMPT"] = "0", ["GIT_ASKPASS"] = "true", ["SSH_ASKPASS"] = "true",
        ["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes",
    };

    /// <summary>GitRepository items: absolute paths of repositories on this machine, or URLs git can fetch from.</summary>
    public ITaskItem[]? Repositories { get; set; }
    /// <summary>The git program.</summary>
    public string? GitProgram { get; set; }

    /// <summary>The bundles written by this run.</summary>
    [Output] public ITaskItem[]? Bundles { get; private set; }

    private sealed record Repository(string Source, bool IsUrl, ModuleCollectMode Mode)
    {
        public string Normalized => NormalizedPath.From(Source);
        public string StateFile => Normalized + ".gitrefs";
    }

    private string Git => string.IsNullOrEmpty(GitProgram) ? "git" : GitProgram;

    protected override bool Run()
    {
        var written = BackEach(Load, r => r.Source, Back);
        if (written == null) return false;
        Bundles = written;
        return !Log.HasLoggedErrors;
    }

    private List<Repository> Load(Problems problems)
    {
        var result = new List<Repository>();
        if (!LoadCommon(problems, "GitRepository")) return result;
        foreach (var item in ModuleSettings.Of(Repositories))
        {
            Values.UnknownMetadata(item, "GitRepository", problems, Metadata);
            var spec = item.ItemSpec.Trim();
            var isUrl = IsUrl(spec);
            var source = isUrl ? spec : Values.AbsolutePath(spec, "GitRepository", problems);
            var mode = ModuleSettings.CollectMode(Own(item, "CollectMode"), "GitRepository", item.ItemSpec, problems, DefaultMode);
            if (source == null || mode == null) continue;
            if (result.Any(r => r.Source == source)) problems.Error("Repos.GitDuplicate", source);
            else result.Add(new Repository(source, isUrl, mode.Value));
        }
        return result;
    }

    /// <summary>scheme://… or scp-like user@host:path.</summary>
    private static bool IsUrl(string spec) =>
        spec.Contains("://", StringComparison.Ordinal) || (!spec.StartsWith('/') && spec.Contains(':') && spec.IndexOf(':') > 0);

    private string? Back(Repository r)
    {
        if (!ModuleSettings.CollectsToday(r.Mode, IsFull, Clock))
        {
            Detail("Repos.GitNotToday", r.Source);
            return null;
        }
        var local = r.IsUrl ? Mirror(r) : r.Source;
        if (!r.IsUrl && !Directory.Exists(local)) throw new CodedError("Repos.GitMissing", r.Source);
        var refs = Refs(r, local);
        if (refs.Length == 0)
        {
            Log.LogWarningWithCodeFromResources("Repos.GitEmpty", r.Source);
            return null;
        }
        var incremental = r.Mode == ModuleCollectMode.Incr && !IsFull && !Clock.IsStartOfWeek;
        var target = Path.Combine(CollectRoot, $"git-{r.Normalized}.bundle");
        if (incremental && ReadState(r.StateFile) == refs.Trim())
        {
            Progress("Repos.GitUnchanged", r.Source);
            return null;
        }
        var temp = AtomicFile.TempPathFor(target);
        try
        {
            GitOrFail(r, "bundle create", new[] { "-C", local, "bundle", "create", "--quiet", temp, "--all" });
            GitOrFail(r, "bundle verify", new[] { "-C", local, "bundle", "verify", "--quiet", temp });
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        WriteState(r.StateFile, refs.Trim());
        Progress("Repos.GitBundled", r.Source, refs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1, target);
        return target;
    }

    /// <summary>Every ref with its object, and where HEAD points: what a bundle must reproduce.</summary>
    private string Refs(Repository r, string local)
    {
        var head = RunGit(r, "symbolic-ref", new[] { "-C", local, "symbolic-ref", "-q", "HEAD" });
        if (head.ExitCode > 1) throw NotARepository(r, head);
        var refs = RunGit(r, "for-each-ref", new[] { "-C", local, "for-each-ref", "--format=%(objectname) %(refname)" });
        if (refs.ExitCode != 0) throw NotARepository(r, refs);
        if (refs.Text.Trim().Length == 0) return "";
        return "HEAD " + head.Text.Trim() + "\n" + refs.Text;
    }

    private CodedError NotARepository(Repository r, (int ExitCode, string Text, string Error) result) =>
        new("Repos.GitNotRepository", r.Source, ProgramOutput.Summary(result.Error));

    /// <summary>Brings WorkingDir/git-mirrors/&lt;normalized&gt;.git up to date with the URL; returns its path.</summary>
    private string Mirror(Repository r)
    {
        var mirrors = Path.Combine(WorkingRoot, "git-mirrors");
        Directory.CreateDirectory(mirrors);
        AtomicFile.RemoveLeftovers(mirrors);
        var mirror = Path.Combine(mirrors, r.Normalized + ".git");
        if (Directory.Exists(mirror))
        {
            GitOrFail(r, "remote update", new[] { "-C", mirror, "remote", "update", "--prune" }, "Repos.GitFetchFailed");
            return mirror;
        }
        var temp = AtomicFile.TempDirectoryFor(mirror);
        try
        {
            GitOrFail(r, "clone --mirror", new[] { "clone", "--mirror", "--quiet", "--", r.Source, temp }, "Repos.GitFetchFailed");
            Directory.Move(temp, mirror);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
        return mirror;
    }

    private void GitOrFail(Repository r, string command, string[] args, string resource = "Repos.GitBundleFailed")
    {
        var result = RunGit(r, command, args);
        if (result.ExitCode != 0)
            throw new CodedError(resource, r.Source, command, result.ExitCode, ProgramOutput.Summary(result.Error));
    }

    private (int ExitCode, string Text, string Error) RunGit(Repository r, string command, string[] args)
    {
        using var output = new MemoryStream();
        var outcome = ProgramOutput.Run(Git, args, Timeout, Cancellation, output, GitEnvironment);
        if (outcome.TimedOut) throw new CodedError("Repos.GitTimeout", r.Source, command, (int)Timeout.TotalSeconds);
        return (outcome.ExitCode, Encoding.UTF8.GetString(output.ToArray()), outcome.Error);
    }
}
