using System.IO.Enumeration;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using LibGit2Sharp;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>Why a repository on this machine cannot be read: the message names the part at fault.</summary>
public sealed class LocalGitError : Exception
{
    public LocalGitError(string message) : base(message) { }
}

/// <summary>One damaged or missing object of a repository, or a part of it BackupBuild does not read.</summary>
internal sealed record GitFinding(string Kind, string Object, string Detail)
{
    /// <summary>A damaged object (it cannot be read, or its content does not hash to its id).</summary>
    public const string Damaged = "damaged";
    /// <summary>An object a ref, commit, tree or tag needs that the repository does not hold.</summary>
    public const string Missing = "missing";
}

/// <summary>What <see cref="LocalGit.ReadEveryObject"/> found.</summary>
internal sealed record GitObjectCheck(int Objects, int Refs, List<GitFinding> Findings, int MoreFindings);

/// <summary>
/// Repositories on this machine read in-process with LibGit2Sharp (libgit2): the request queue's control
/// repositories, the server's git mirrors (Browse verify) and the git module's check before a bundle. Every
/// repository is untrusted: before libgit2 opens one, the parts git reads (HEAD, config, packed-refs, commondir,
/// shallow, refs/, objects/, info/) are checked for symbolic links and objects/info/alternates, and a repository with
/// either is refused, so nothing outside it is ever read through it. Work that is faster with the git program
/// stays with it (clone --mirror, fetch, push, bundle): see docs/development.md.
/// </summary>
internal static class LocalGit
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>The parts of a git directory that git and libgit2 read; hooks/, logs/ and description are never read here.</summary>
    private static readonly string[] ReadParts = { "HEAD", "config", "packed-refs", "commondir", "shallow", "refs", "objects", "info" };

    /// <summary>
    /// Lets LibGit2Sharp find its native library (libgit2-*.so) beside its own assembly, in the layout the source build
    /// (runtimes/&lt;rid&gt;/native/, every platform) and the SDK package (runtimes/linux-x64/native/ only) share, or in
    /// the assembly's own folder. MSBuild loads a task assembly in its own AssemblyLoadContext, which probes native
    /// libraries only through that assembly's .deps.json (absent when a test names a copy of the assembly), and
    /// LibGit2Sharp's GlobalSettings.NativeLibraryPath looks for "git2-*.so" without the "lib" of the file's name on
    /// Linux: so the library is found here, when the load context asks (ResolvingUnmanagedDll), by its full path.
    /// </summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            _loaded = true;
            var assembly = typeof(Repository).Assembly;
            var context = AssemblyLoadContext.GetLoadContext(assembly);
            if (context == null) return;
            context.ResolvingUnmanagedDll += (requesting, name) =>
            {
                if (requesting != assembly || !name.StartsWith("git2", StringComparison.Ordinal)) return IntPtr.Zero;
                return NativeLibraryFile() is { } file ? NativeLibrary.Load(file) : IntPtr.Zero;
            };
        }
    }

    /// <summary>The libgit2 file LibGit2Sharp was built for, beside its assembly; null when there is none.</summary>
    internal static string? NativeLibraryFile()
    {
        var dir = Path.GetDirectoryName(typeof(Repository).Assembly.Location);
        if (string.IsNullOrEmpty(dir)) return null;
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        foreach (var candidate in new[] { Path.Combine(dir, "runtimes", "linux-" + arch, "native"), dir })
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "libgit2-*.so").Order(StringComparer.Ordinal).FirstOrDefault() is { } file)
                return file;
        return null;
    }

    /// <summary>
    /// The git directory of <paramref name="path"/> (a bare repository, a working tree with a .git folder, or one whose
    /// .git file names its git directory, as a submodule's or a linked worktree's does), or null when it is none of these.
    /// </summary>
    public static string? GitDirectory(string path)
    {
        if (Posix.LStat(Path.Combine(path, "HEAD"), out _) != null && Posix.LStat(Path.Combine(path, "objects"), out _) != null) return path;
        var dotGit = Path.Combine(path, ".git");
        var st = Posix.LStat(dotGit, out _);
        if (st is { IsDirectory: true }) return dotGit;
        if (st is not { IsRegular: true } || st.Value.Size > 4096) return null;
        var text = File.ReadAllText(dotGit).Trim();
        if (!text.StartsWith("gitdir: ", StringComparison.Ordinal)) return null;
        var target = Path.GetFullPath(text["gitdir: ".Length..].Trim(), path);
        return Posix.LStat(target, out _) is { IsDirectory: true } ? target : null;
    }

    /// <summary>A symbolic link or borrowed object store inside the parts of <paramref name="gitDir"/> that are read; null when none.</summary>
    public static string? LinkInside(string gitDir)
    {
        foreach (var part in ReadParts)
        {
            var path = Path.Combine(gitDir, part);
            var st = Posix.LStat(path, out _);
            if (st == null) continue;
            if (st.Value.IsSymlink) return $"\"{part}\" is a symbolic link";
            if (!st.Value.IsDirectory) continue;
            var links = new FileSystemEnumerable<string>(path, (ref FileSystemEntry e) => e.ToFullPath(),
                new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false })
            {
                ShouldIncludePredicate = (ref FileSystemEntry e) => (e.Attributes & FileAttributes.ReparsePoint) != 0,
            };
            foreach (var link in links) return $"\"{Path.GetRelativePath(gitDir, link)}\" is a symbolic link";
        }
        var alternates = Path.Combine(gitDir, "objects", "info", "alternates");
        if (Posix.LStat(alternates, out _) is { IsRegular: true } a && a.Size > 0)
            return "objects/info/alternates borrows objects from another repository";
        return null;
    }

    /// <summary>Opens a repository after the link check; throws <see cref="LocalGitError"/> with the reason.</summary>
    public static Repository Open(string path)
    {
        EnsureLoaded();
        var gitDir = GitDirectory(path) ?? throw new LocalGitError($"\"{path}\" is not a git repository (no HEAD and objects/, no .git folder)");
        if (LinkInside(gitDir) is { } link) throw new LocalGitError(link + "; BackupBuild does not read a repository through links");
        // A linked worktree's git directory keeps its objects and most refs in the main repository's (commondir).
        if (CommonDirectory(gitDir) is { } common && common != gitDir && LinkInside(common) is { } commonLink)
            throw new LocalGitError($"{commonLink} in \"{common}\"; BackupBuild does not read a repository through links");
        try
        {
            return new Repository(gitDir);
        }
        catch (LibGit2SharpException e)
        {
            throw new LocalGitError(e.Message.Trim());
        }
    }

    /// <summary>The folder holding the objects and shared refs: <paramref name="gitDir"/>, or the one its commondir file names.</summary>
    private static string CommonDirectory(string gitDir)
    {
        var file = Path.Combine(gitDir, "commondir");
        if (Posix.LStat(file, out _) is not { IsRegular: true } st || st.Size > 4096) return gitDir;
        return Path.GetFullPath(File.ReadAllText(file).Trim(), gitDir);
    }

    /// <summary>Creates a bare repository at <paramref name="gitDir"/> when it has none (as `git init --bare`).</summary>
    public static void EnsureBare(string gitDir)
    {
        EnsureLoaded();
        if (Posix.LStat(Path.Combine(gitDir, "HEAD"), out _) != null) return;
        try
        {
            Directory.CreateDirectory(gitDir);
            Repository.Init(gitDir, isBare: true);
        }
        catch (LibGit2SharpException e)
        {
            throw new LocalGitError(e.Message.Trim());
        }
    }

    /// <summary>
    /// HEAD (the ref it names, empty when detached) and every ref with the object it points at, sorted by name: the
    /// text `git symbolic-ref -q HEAD` and `git for-each-ref --format='%(objectname) %(refname)'` print.
    /// Refs whose object cannot be resolved are left out, as for-each-ref leaves out a broken ref.
    /// </summary>
    public static (string Head, List<(string Id, string Name)> Refs) Refs(Repository repo)
    {
        var head = "";
        var headRef = repo.Refs.Head;
        if (headRef is SymbolicReference s) head = s.TargetIdentifier;
        var refs = new List<(string, string)>();
        foreach (var r in repo.Refs.OrderBy(r => r.CanonicalName, StringComparer.Ordinal))
        {
            var direct = r.ResolveToDirectReference();
            if (direct?.TargetIdentifier is not { Length: > 0 } id) continue;
            refs.Add((id, r.CanonicalName));
        }
        return (head, refs);
    }

    /// <summary>
    /// Reads every object of the repository, so that libgit2 inflates it and checks that its content hashes to its id:
    /// first what the refs reach (commits, their trees and parents, blobs, tags), noting each object something needs
    /// that is not there, then every other object the object database lists (loose files and packs). A damaged loose
    /// object or pack, or a missing object, becomes a finding naming the object. At most <paramref name="limit"/> findings
    /// are kept (the rest are counted).
    /// </summary>
    public static GitObjectCheck ReadEveryObject(Repository repo, CancellationToken cancel, int limit = 20)
    {
        var findings = new List<GitFinding>();
        var more = 0;
        void Add(GitFinding f)
        {
            if (findings.Count < limit) findings.Add(f);
            else more++;
        }

        var seen = new HashSet<ObjectId>();
        var work = new Stack<(ObjectId Id, string From)>();
        var refs = 0;
        foreach (var r in repo.Refs)
        {
            refs++;
            DirectReference? direct;
            try { direct = r.ResolveToDirectReference(); }
            catch (LibGit2SharpException e) { Add(new GitFinding(GitFinding.Damaged, r.CanonicalName, e.Message.Trim())); continue; }
            // A symbolic ref to a ref that does not exist (say refs/remotes/origin/HEAD) holds no object.
            if (direct == null) continue;
            if (!ObjectId.TryParse(direct.TargetIdentifier, out var id)) { Add(new GitFinding(GitFinding.Damaged, r.CanonicalName, "it does not name an object")); continue; }
            work.Push((id, "ref " + r.CanonicalName));
        }

        var count = 0;
        while (work.Count > 0)
        {
            var (id, from) = work.Pop();
            if (!seen.Add(id)) continue;
            if ((++count & 1023) == 0) cancel.ThrowIfCancellationRequested();
            GitObject? obj;
            try { obj = repo.Lookup(id); }
            catch (LibGit2SharpException e) { Add(new GitFinding(GitFinding.Damaged, id.Sha, e.Message.Trim())); continue; }
            if (obj == null) { Add(new GitFinding(GitFinding.Missing, id.Sha, from + " needs it")); continue; }
            try
            {
                switch (obj)
                {
                    case Commit c:
                        work.Push((c.Tree.Id, "commit " + c.Sha));
                        foreach (var p in c.Parents) work.Push((p.Id, "commit " + c.Sha));
                        break;
                    case Tree t:
                        foreach (var e in t)
                            if (e.TargetType is TreeEntryTargetType.Blob or TreeEntryTargetType.Tree) work.Push((e.Target.Id, "tree " + t.Sha));
                        break;
                    case TagAnnotation tag:
                        work.Push((tag.Target.Id, "tag " + tag.Sha));
                        break;
                }
            }
            catch (LibGit2SharpException e) { Add(new GitFinding(GitFinding.Damaged, id.Sha, e.Message.Trim())); }
        }

        // Objects no ref reaches (kept by a mirror all the same) are read too: a damaged pack is damaged whatever it holds.
        // Their ids come from the loose files' names and the packs' indexes (LibGit2Sharp's ObjectDatabase enumerator
        // would read every object once more).
        try
        {
            foreach (var id in ObjectIds(repo))
            {
                if (!seen.Add(id)) continue;
                if ((++count & 1023) == 0) cancel.ThrowIfCancellationRequested();
                try
                {
                    if (repo.Lookup(id) == null) Add(new GitFinding(GitFinding.Missing, id.Sha, "the object database lists it"));
                }
                catch (LibGit2SharpException e) { Add(new GitFinding(GitFinding.Damaged, id.Sha, e.Message.Trim())); }
            }
        }
        catch (LibGit2SharpException e) { Add(new GitFinding(GitFinding.Damaged, "objects/", e.Message.Trim())); }
        catch (InvalidDataException e) { Add(new GitFinding(GitFinding.Damaged, "objects/pack/", e.Message)); }
        return new GitObjectCheck(count, refs, findings, more);
    }

    /// <summary>
    /// Every object id the repository's object folder holds: loose objects by file name, packed ones from each
    /// pack index (version 2). A pack index of another version falls back to LibGit2Sharp's enumerator.
    /// </summary>
    private static IEnumerable<ObjectId> ObjectIds(Repository repo)
    {
        var objects = Path.Combine(CommonDirectory(repo.Info.Path), "objects");
        if (!Directory.Exists(objects))
        {
            foreach (var o in repo.ObjectDatabase) yield return o.Id;
            yield break;
        }
        var loose = new FileSystemEnumerable<string>(objects, (ref FileSystemEntry e) =>
                Path.GetFileName(e.Directory.ToString()) + e.FileName.ToString(),
            new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory && e.FileName.Length == 38 && Path.GetFileName(e.Directory.ToString()).Length == 2,
        };
        foreach (var name in loose)
            if (ObjectId.TryParse(name, out var id)) yield return id;
        var packs = Path.Combine(objects, "pack");
        if (!Directory.Exists(packs)) yield break;
        foreach (var index in Directory.EnumerateFiles(packs, "*.idx"))
        {
            var bytes = File.ReadAllBytes(index);
            // "\377tOc", version 2, 256 fan-out counts (big-endian), then the ids, sorted.
            if (bytes.Length < 8 + 1024 || bytes[0] != 0xFF || bytes[1] != (byte)'t' || bytes[2] != (byte)'O' || bytes[3] != (byte)'c'
                || System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4)) != 2)
            {
                foreach (var o in repo.ObjectDatabase) yield return o.Id;
                yield break;
            }
            var count = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8 + 255 * 4));
            if (8 + 1024 + (long)count * 20 > bytes.Length) throw new InvalidDataException($"the pack index \"{Path.GetFileName(index)}\" is cut short");
            for (var i = 0; i < count; i++)
                yield return new ObjectId(bytes.AsSpan(8 + 1024 + i * 20, 20).ToArray());
        }
    }
}
