using System.Text;
using BackupBuild.Tasks.Infrastructure;
using LibGit2Sharp;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// The local side of a control repository (the client's RequestRoot/control/&lt;server&gt;.git, the server's
/// control/&lt;client&gt;.git), read and written in-process with LibGit2Sharp: one flat tree of small files per
/// commit (a request per file, or the acks file). What crosses to the other machine (push, ls-remote, fetch) stays
/// with the git program over ssh (<see cref="GitCommand"/>). Every call opens the repository afresh, so it sees
/// what a git program run just wrote. The repository is untrusted (the other side pushes into the server's one):
/// <see cref="LocalGit.Open"/> refuses links in it, only regular files of a tree are read, and none larger than
/// <see cref="MaxFileBytes"/>.
/// </summary>
internal static class ControlRepository
{
    /// <summary>A request or the acks file is a few hundred bytes a request; anything larger is not one.</summary>
    public const long MaxFileBytes = 4 << 20;

    private static Signature Signature() => new("BackupBuild", "backupbuild@localhost", DateTimeOffset.Now);

    /// <summary>A bare repository at <paramref name="gitDir"/>, created when missing.</summary>
    public static void EnsureBare(string gitDir) => Do(gitDir, () => LocalGit.EnsureBare(gitDir));

    /// <summary>The commit a ref points at, or null when the ref does not exist.</summary>
    public static string? Resolve(string gitDir, string refName) => With(gitDir, repo =>
    {
        var r = repo.Refs[refName];
        if (r == null) return null;
        var commit = r.ResolveToDirectReference()?.Target?.Peel<Commit>();
        if (commit == null) throw new GitFailure($"the ref {refName} of \"{gitDir}\" does not point at a commit");
        return commit.Sha;
    });

    /// <summary>
    /// Writes a commit whose tree holds one file per entry, with <paramref name="parent"/>, and returns it; the parent
    /// itself when its tree is already this one. No ref moves (<see cref="UpdateRef"/>).
    /// </summary>
    public static string CommitFlatTree(string gitDir, IEnumerable<(string Name, string Content)> files, string? parent, string message) =>
        With(gitDir, repo =>
        {
            var definition = new TreeDefinition();
            foreach (var (name, content) in files.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                definition.Add(name, repo.ObjectDatabase.CreateBlob(stream), Mode.NonExecutableFile);
            }
            var tree = repo.ObjectDatabase.CreateTree(definition);
            var parentCommit = parent == null ? null : repo.Lookup<Commit>(parent)
                ?? throw new GitFailure($"the commit {parent} is not in \"{gitDir}\"");
            if (parentCommit != null && parentCommit.Tree.Id == tree.Id) return parent!;
            var signature = Signature();
            var commit = repo.ObjectDatabase.CreateCommit(signature, signature, message, tree,
                parentCommit == null ? Array.Empty<Commit>() : new[] { parentCommit }, prettifyMessage: true);
            return commit.Sha;
        });

    /// <summary>Points <paramref name="refName"/> at <paramref name="commit"/> (as `git update-ref`).</summary>
    public static void UpdateRef(string gitDir, string refName, string commit) => With(gitDir, repo =>
    {
        repo.Refs.Add(refName, new ObjectId(commit), "BackupBuild", allowOverwrite: true);
        return 0;
    });

    /// <summary>
    /// The regular files of a commit's (flat) tree: name → content, without a final newline (as `git cat-file` printed
    /// it). <paramref name="commitOrRef"/> is a commit id or a ref name. Links, folders and submodules are left out.
    /// </summary>
    public static Dictionary<string, string> ReadFlatTree(string gitDir, string commitOrRef) => With(gitDir, repo =>
    {
        var commit = (ObjectId.TryParse(commitOrRef, out var id) ? repo.Lookup(id) : repo.Refs[commitOrRef]?.ResolveToDirectReference()?.Target)
            ?.Peel<Commit>() ?? throw new GitFailure($"\"{gitDir}\" has no commit {commitOrRef}");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in commit.Tree)
        {
            if (entry.TargetType != TreeEntryTargetType.Blob || entry.Mode is not (Mode.NonExecutableFile or Mode.ExecutableFile)) continue;
            var blob = (Blob)entry.Target;
            if (blob.Size > MaxFileBytes)
                throw new GitFailure($"the file \"{entry.Name}\" of commit {commit.Sha} in \"{gitDir}\" has {blob.Size} bytes; a request queue file is never this large");
            using var content = blob.GetContentStream();
            using var reader = new StreamReader(content, new UTF8Encoding(false));
            result[entry.Name] = reader.ReadToEnd().TrimEnd('\n');
        }
        return result;
    });

    private static void Do(string gitDir, Action action) => With(gitDir, _ => { action(); return 0; }, open: false);

    private static T With<T>(string gitDir, Func<Repository, T> work, bool open = true)
    {
        try
        {
            if (!open) return work(null!);
            using var repo = LocalGit.Open(gitDir);
            return work(repo);
        }
        catch (LocalGitError e)
        {
            throw new GitFailure(e.Message);
        }
        catch (LibGit2SharpException e)
        {
            throw new GitFailure($"\"{gitDir}\": {e.Message.Trim()}");
        }
    }
}
