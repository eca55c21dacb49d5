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

    /// <summary>The bundles written by this run.</summary>
    [Output] public ITaskItem[]? Bundles { get; private set; }

    private sealed record Repository(string Source, bool IsUrl, ModuleCollectMode Mode)
    {
        public string Normalized => NormalizedPath.From(Source);
        public string StateFile => Normalized + ".gitrefs";
    }

    private string Git => Program("GitPath");

    protected override string[] ProgramNames => ["GitPath"];

    internal override void Check(Problems problems) => Load(problems);

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
            var mode = ModuleSettings.CollectMode(Own(item, "GitRepository", "CollectMode", problems), "GitRepository", item.ItemSpec, problems, DefaultMode);
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
        // A URL is mirrored with `git clone --mirror` / `git remote update`, not LibGit2Sharp: for a local path or
        // file:// URL the git program took 1.1 s where LibGit2Sharp took 15-18 s (4,000 commits; docs/benchmarks.md).
        var local = r.IsUrl ? Mirror(r) : r.Source;
        if (!r.IsUrl && !Directory.Exists(local)) throw new CodedError("Repos.GitMissing", r.Source);
        if (LocalGit.GitDirectory(local) == null) throw new CodedError("Repos.GitNotRepository", r.Source, "no HEAD and objects/, no .git folder");
        // Read in-process (LibGit2Sharp) before anything is written: a repository with a link in it, a damaged HEAD or
        // config, or refs that cannot be read is refused here (BKP7210), and its refs come from here, not from git.
        using var repo = OpenReadable(r, local);
        var refs = Refs(r, repo);
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
        // Every object is read (and hashed) before the bundle: `git bundle create` copies pack data as it is, so a
        // damaged repository would give a bundle that cannot be restored (BKP7211, nothing written).
        var check = LocalGit.ReadEveryObject(repo, Cancellation, limit: 1);
        if (check.Findings.Count > 0)
        {
            var f = check.Findings[0];
            throw new CodedError("Repos.GitDamaged", r.Source, f.Kind, f.Object, f.Detail, check.Findings.Count + check.MoreFindings);
        }
        var temp = AtomicFile.TempPathFor(target);
        try
        {
            // Bundles stay with the git program: LibGit2Sharp has no bundle API.
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

    /// <summary>
    /// Every ref with its object, and where HEAD points: what a bundle must reproduce. The text is the one
    /// `git symbolic-ref -q HEAD` and `git for-each-ref --format='%(objectname) %(refname)'` printed (the
    /// WorkingDir/&lt;normalized&gt;.gitrefs files written before LibGit2Sharp read the refs stay valid).
    /// </summary>
    private static string Refs(Repository r, LibGit2Sharp.Repository repo)
    {
        try
        {
            var (head, refs) = LocalGit.Refs(repo);
            if (refs.Count == 0) return "";
            var text = new StringBuilder("HEAD ").Append(head).Append('\n');
            foreach (var (id, name) in refs) text.Append(id).Append(' ').Append(name).Append('\n');
            return text.ToString();
        }
        catch (LibGit2Sharp.LibGit2SharpException e)
        {
            throw new CodedError("Repos.GitUnreadable", r.Source, e.Message.Trim());
        }
    }

    private static LibGit2Sharp.Repository OpenReadable(Repository r, string local)
    {
        try
        {
            return LocalGit.Open(local);
        }
        catch (LocalGitError e)
        {
            throw new CodedError("Repos.GitUnreadable", r.Source, e.Message);
        }
    }

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
