using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Requests;

/// <summary>
/// -t:Browse -p:BrowseCommand=verify on a server's git mirrors, through the real `dotnet msbuild` (so LibGit2Sharp and
/// its native libgit2 load inside MSBuild's load context for tasks): mirrors made by `git clone --mirror`, then damaged
/// as a disk or a peer would: a byte of a loose object, a byte of a pack, an object deleted, a link planted.
/// </summary>
public sealed class GitMirrorVerifyTests : IDisposable
{
    private readonly TempDir _t = new();

    public void Dispose() => _t.Dispose();

    private string ServerRoot => _t["server"] + "/";
    private string Mirror(string path) => ServerRoot + "data/web1/git" + path;

    private static string Git(params string[] args) => RequestPool.Sh("git", new[] { "-c", "user.name=t", "-c", "user.email=t@e" }.Concat(args).ToArray());

    /// <summary>A client repository with some history; returns its path.</summary>
    private string Source()
    {
        var work = _t.Dir("src/work");
        Git("init", "-q", "-b", "main", work);
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllText(Path.Combine(work, "file.txt"), string.Concat(Enumerable.Repeat($"line {i} of a file that changes\n", 200 + i)));
            File.WriteAllText(Path.Combine(work, $"other{i}.txt"), $"other {i}\n");
            Git("-C", work, "add", "-A");
            Git("-C", work, "commit", "-q", "-m", $"commit {i}");
        }
        Git("-C", work, "tag", "-a", "v1", "-m", "one");
        return work;
    }

    /// <summary>Mirrors <paramref name="source"/> at the client path <paramref name="path"/>; packed or with loose objects.</summary>
    private string MakeMirror(string source, string path, bool packed)
    {
        var mirror = Mirror(path);
        Directory.CreateDirectory(Path.GetDirectoryName(mirror)!);
        if (packed)
        {
            Git("clone", "-q", "--mirror", "--no-local", source, mirror);
            return mirror;
        }
        // A fetch of fewer objects than fetch.unpackLimit leaves them loose, as the server's pulls of small changes do.
        Git("init", "-q", "--bare", mirror);
        Git("-C", mirror, "-c", "fetch.unpackLimit=100000", "fetch", "-q", "--no-write-fetch-head", source, "+refs/*:refs/*");
        return mirror;
    }

    private static void FlipByte(string file, long offset)
    {
        File.SetAttributes(file, FileAttributes.Normal);
        using var s = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        s.Position = offset;
        var b = s.ReadByte();
        s.Position = offset;
        s.WriteByte((byte)(b ^ 0xFF));
    }

    private BackupProject Server() =>
        new BackupProject(_t.Dir("project")).Property("BackupPeer", "backup1").Property("RequestServerRoot", ServerRoot);

    [Fact]
    public void Verify_reads_every_object_and_names_the_mirror_and_object_of_each_damage()
    {
        Tool.Require("git");
        var source = Source();
        var blob = Git("-C", source, "rev-parse", "HEAD:other4.txt");
        var tree = Git("-C", source, "rev-parse", "HEAD^{tree}");

        MakeMirror(source, "/srv/good.git", packed: true);
        // A loose object with one byte changed (zlib or its hash fails).
        var loose = MakeMirror(source, "/srv/loose.git", packed: false);
        FlipByte(Path.Combine(loose, "objects", blob[..2], blob[2..]), 12);
        // A pack with one byte changed in the middle of its object data.
        var packed = MakeMirror(source, "/srv/packed.git", packed: true);
        var pack = Directory.GetFiles(Path.Combine(packed, "objects", "pack"), "*.pack").Single();
        FlipByte(pack, new FileInfo(pack).Length / 2);
        // An object deleted: the tree that needs it names it.
        var missing = MakeMirror(source, "/srv/missing.git", packed: false);
        File.Delete(Path.Combine(missing, "objects", blob[..2], blob[2..]));
        // A link a peer might plant: never followed, the mirror is not read.
        var linked = MakeMirror(source, "/srv/linked.git", packed: true);
        var outside = _t.File("outside/secret", "0123456789012345678901234567890123456789\n");
        File.CreateSymbolicLink(Path.Combine(linked, "refs", "heads", "odd name"), outside);
        File.WriteAllText(ServerRoot + "data/web1/git.roots", "/srv/good.git\n/srv/loose.git\n/srv/packed.git\n/srv/missing.git\n/srv/linked.git\n");
        var before = Snapshot(ServerRoot);

        var server = Server();
        var r = server.Run("Browse", "BrowseClient=web1", "BrowseCommand=verify");
        Assert.True(r.ExitCode != 0, r.All);
        var errors = r.All.Split('\n').Where(l => l.Contains("error BKP")).Distinct().ToList();

        Assert.DoesNotContain(errors, l => l.Contains("good.git"));
        Assert.Contains("Browse: git mirror \"" + Mirror("/srv/good.git") + "\"", r.All);
        Assert.Contains(errors, l => l.Contains("BKP7220") && l.Contains(Mirror("/srv/loose.git")) && l.Contains($"object {blob} is damaged"));
        Assert.Contains(errors, l => l.Contains("BKP7220") && l.Contains(Mirror("/srv/packed.git")) && l.Contains(" is damaged"));
        Assert.Contains(errors, l => l.Contains("BKP7220") && l.Contains(Mirror("/srv/missing.git")) && l.Contains($"object {blob} is missing: tree {tree} needs it"));
        Assert.Contains(errors, l => l.Contains("BKP7221") && l.Contains(Mirror("/srv/linked.git")) && l.Contains("refs/heads/odd name\" is a symbolic link"));
        Assert.Contains("Browse: 1 git mirror(s) verified, 4 damaged or not read.", r.All);
        // Verify only reads.
        Assert.Equal(before, Snapshot(ServerRoot));
    }

    [Fact]
    public void A_mirror_reached_through_a_link_in_the_store_is_not_read()
    {
        Tool.Require("git");
        var source = Source();
        var real = _t.Dir("elsewhere");
        Git("clone", "-q", "--mirror", source, Path.Combine(real, "repo.git"));
        Directory.CreateDirectory(ServerRoot + "data/web1/git");
        File.CreateSymbolicLink(ServerRoot + "data/web1/git/srv", real);
        File.WriteAllText(ServerRoot + "data/web1/git.roots", "/srv/repo.git\n");

        var r = Server().Run("Browse", "BrowseClient=web1", "BrowseCommand=verify");
        Assert.True(r.ExitCode != 0, r.All);
        Assert.Contains("BKP7221", r.All);
        Assert.Contains("is a symbolic link or not a folder", r.All);
        Assert.DoesNotContain("object(s) of", r.All);
    }

    [Fact]
    public void The_source_build_of_the_tasks_loads_libgit2_from_its_runtimes_folder()
    {
        // Source mode (the quick start): the task assembly built in tasks/bin, libgit2 under runtimes/linux-x64/native
        // beside it; MSBuild loads the task in its own load context (not the tests' copy of the assembly).
        Tool.Require("git");
        var built = Path.Combine(Repo.Root, "tasks", "bin", "Release", "net8.0");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(built, "runtimes", "linux-x64", "native"), "libgit2-*.so"));
        Assert.Empty(Directory.GetFiles(built, "libgit2-*.so"));
        MakeMirror(Source(), "/srv/repo.git", packed: true);
        File.WriteAllText(ServerRoot + "data/web1/git.roots", "/srv/repo.git\n");
        var r = Server().Property("BackupTasksAssembly", Path.Combine(built, "BackupBuild.Tasks.dll"))
            .Run("Browse", "BrowseClient=web1", "BrowseCommand=verify");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("Browse: 1 git mirror(s) verified, 0 damaged or not read.", r.All);
    }

    private static string[] Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => p + " " + (File.Exists(p) ? new FileInfo(p).Length + " " + File.GetLastWriteTimeUtc(p).Ticks : "dir"))
            .Order(StringComparer.Ordinal).ToArray();
}
