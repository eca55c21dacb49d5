using BackupBuild.Tests.Requests;
using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Requests.RequestPool;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 3: a hostile client must not make the request server write or delete through a link it
/// planted in the server's store. Each test runs the real flow (client -t:Request and -t:SendRequests,
/// server -t:ProcessRequests through a real sshd, the request gate, git and rsync) and then looks at the
/// file system: canary folders outside the store are unchanged, and what arrived in the store cannot be followed.
/// </summary>
[Collection("RequestQueue")]
public class RequestServerLinkTests
{
    /// <summary>The client's RequestDirectory is -p:AttackDir (a hostile client changes it between runs).</summary>
    private static RequestPool NewPool()
    {
        var pool = new RequestPool();
        pool.Client.Raw("    <RequestDirectory Include=\"$(AttackDir)\" Condition=\"'$(AttackDir)' != ''\" />");
        return pool;
    }

    private static Tool.Result Ask(RequestPool pool, string dir)
    {
        Ok(pool.Client.Run("Request", "Module=directories", "AttackDir=" + dir));
        Ok(pool.Client.Run("SendRequests"));
        return pool.Server.Run("ProcessRequests");
    }

    /// <summary>Every entry under the test's folder outside the server's store and the projects, with contents.</summary>
    private static Dictionary<string, string> Outside(RequestPool pool)
    {
        var result = new Dictionary<string, string>();
        foreach (var (k, v) in Snapshot.Of(pool.Dir.Path))
        {
            if (k.StartsWith("backup1/root", StringComparison.Ordinal) || k.Contains("/project", StringComparison.Ordinal) ||
                k.StartsWith("web1/requests", StringComparison.Ordinal) || k.StartsWith("web1/src", StringComparison.Ordinal)) continue;
            var full = Path.Combine(pool.Dir.Path, k);
            var st = new FileInfo(full);
            result[k] = st.LinkTarget != null ? "link " + st.LinkTarget : File.Exists(full) ? v + ":" + File.ReadAllText(full) : v;
        }
        return result;
    }

    private static void Unfollowable(string link)
    {
        var info = new FileInfo(link);
        Assert.NotNull(info.LinkTarget);
        Assert.StartsWith("/rsyncd-munged/", info.LinkTarget);
        // test -e follows the link (.NET's File.Exists is true for a dangling link itself).
        Assert.NotEqual(0, Tool.Run("test", "-e", link).ExitCode);
        Assert.NotEqual(0, Tool.Run("test", "-e", link + "/canary.txt").ExitCode);
    }

    [Fact]
    public void A_link_that_became_a_folder_in_a_nested_request_never_leads_the_server_outside_its_store()
    {
        using var pool = NewPool();
        var outside = pool.Dir.Dir("backup1/outside");
        pool.Dir.File("backup1/outside/canary.txt", "the server's own file");
        pool.Dir.File("backup1/outside/sub/deep.txt", "deeper");
        pool.Dir.File("web1/src/www/index.html", "<h1>hello</h1>");
        File.CreateSymbolicLink(pool.Src("www/blog"), outside);
        var before = Outside(pool);
        var mirror = pool.Data + "rsync" + pool.Src("www");

        // 1. The outer folder, with blog a link to a server path: it arrives as a link that leads nowhere.
        Ok(Ask(pool, pool.Src("www")));
        Assert.Equal("<h1>hello</h1>", File.ReadAllText(mirror + "/index.html"));
        Unfollowable(mirror + "/blog");
        Assert.Equal(before, Outside(pool));

        // 2. The client makes blog a folder and asks for it on its own: a mirror inside a mirror is refused,
        //    nothing is pulled, the client is told.
        File.Delete(pool.Src("www/blog"));
        pool.Dir.File("web1/src/www/blog/post.html", "planted");
        var refused = Ask(pool, pool.Src("www/blog"));
        Fails(refused, "BKP7061");
        Assert.Equal(before, Outside(pool));
        Unfollowable(mirror + "/blog");
        Assert.False(File.Exists(pool.Dir["backup1/outside/post.html"]));
        Fails(pool.Client.Run("SendRequests"), "BKP7035");

        // 3. The outer folder again, blog now a folder: rsync --delete replaces the link itself, never what it named.
        Ok(Ask(pool, pool.Src("www")));
        Assert.Equal("planted", File.ReadAllText(mirror + "/blog/post.html"));
        Assert.Null(new DirectoryInfo(mirror + "/blog").LinkTarget);
        Assert.Equal(before, Outside(pool));

        // 4. And back to a link, now to a folder beneath the store (relative): still a link that leads nowhere.
        Directory.Delete(pool.Src("www/blog"), recursive: true);
        File.CreateSymbolicLink(pool.Src("www/blog"), "../../../backup1/outside");
        Ok(Ask(pool, pool.Src("www")));
        Unfollowable(mirror + "/blog");
        Assert.Equal(before, Outside(pool));
        Assert.Equal(new[] { "canary.txt", "sub" }, Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Overlapping_request_folders_are_refused_by_the_client_before_anything_is_queued()
    {
        using var pool = NewPool();
        pool.Dir.File("web1/src/www/blog/post.html", "a post");
        pool.Client.Item("RequestDirectory", pool.Src("www")).Item("RequestDirectory", pool.Src("www/blog"));
        Fails(pool.Client.Run("Request", "Module=directories"), "BKP7060");
        Assert.Empty(pool.PoolFiles);
        Fails(pool.Client.Run("RequestAll"), "BKP7060");
        Assert.Empty(pool.PoolFiles);
        Assert.False(Directory.Exists(pool.Data + "rsync"));
    }

    [Fact]
    public void The_inner_folder_first_then_the_outer_one_is_refused_too()
    {
        using var pool = NewPool();
        pool.Dir.File("web1/src/www/blog/post.html", "a post");
        pool.Dir.File("web1/src/www/index.html", "index");
        Ok(Ask(pool, pool.Src("www/blog")));
        var refused = Ask(pool, pool.Src("www"));
        Fails(refused, "BKP7061");
        Assert.False(File.Exists(pool.Data + "rsync" + pool.Src("www/index.html")));
        Assert.Equal("a post", File.ReadAllText(pool.Data + "rsync" + pool.Src("www/blog/post.html")));
        Assert.Equal(pool.Src("www/blog") + "\n", File.ReadAllText(pool.Data + "rsync.roots"));
    }

    [Fact]
    public void A_link_left_in_the_store_by_an_older_version_is_never_written_through()
    {
        using var pool = NewPool();
        var outside = pool.Dir.Dir("backup1/outside");
        pool.Dir.File("backup1/outside/canary.txt", "the server's own file");
        pool.Dir.File("web1/src/www/blog/post.html", "planted");
        // What an older server left: a plain (unmunged) link in the mirror of www, and no claimed roots.
        var mirror = pool.Data + "rsync" + pool.Src("www");
        Directory.CreateDirectory(mirror);
        File.CreateSymbolicLink(mirror + "/blog", outside);
        var before = Outside(pool);

        var refused = Ask(pool, pool.Src("www/blog"));
        Fails(refused, "BKP7062");
        Assert.Contains("is a symbolic link or not a folder", refused.All);
        Assert.Equal(before, Outside(pool));
        Assert.False(File.Exists(pool.Dir["backup1/outside/post.html"]));

        Fails(pool.Client.Run("SendRequests"), "BKP7035");

        // The store's own folders too: data/web1/sftp as a link to a server folder stops the sftp pull.
        pool.Dir.File("web1/src/trac/conf/trac.ini", "[trac]\ndatabase = sqlite:db/trac.db\n");
        pool.Dir.Dir("web1/src/trac/db");
        Sh("sqlite3", pool.Src("trac/db/trac.db"), "CREATE TABLE t (id integer);");
        pool.Client.Item("TracSite", pool.Src("trac"));
        File.CreateSymbolicLink(pool.Data + "sftp", outside);
        Ok(pool.Client.Run("Request", "Module=trac"));
        Ok(pool.Client.Run("SendRequests"));
        Fails(pool.Server.Run("ProcessRequests"), "BKP7062");
        Assert.Equal(before, Outside(pool));
        Assert.Single(Directory.GetFiles(pool.Dir["web1/requests/outgoing/backup1"])); // the client's copy is kept

        // And a git mirror whose folder in the store is reached through a link: refused, nothing written.
        Sh("git", "init", "-q", "--bare", pool.Src("repo.git"));
        pool.Client.Item("GitRepository", pool.Src("repo.git"));
        Directory.CreateDirectory(Path.GetDirectoryName(pool.Data + "git" + pool.Dir["web1"])!);
        File.CreateSymbolicLink(pool.Data + "git" + pool.Dir["web1"], outside);
        Ok(pool.Client.Run("Request", "Module=git"));
        Ok(pool.Client.Run("SendRequests"));
        Fails(pool.Server.Run("ProcessRequests"), "BKP7062");
        Assert.Equal(before, Outside(pool));
        Assert.False(Directory.Exists(pool.Dir["backup1/outside/src"]));
    }

    [Fact]
    public void A_request_for_a_path_with_dot_dot_or_through_a_client_link_out_of_its_folders_gets_nothing()
    {
        using var pool = NewPool();
        pool.Dir.File("web1/secret/key.txt", "the client's secret");
        pool.Dir.File("web1/src/www/index.html", "index");
        File.CreateSymbolicLink(pool.Src("link"), pool.Dir["web1/secret"]);

        var dotdot = Ask(pool, pool.Src("www") + "/../../secret");
        Fails(dotdot, "BKP7040");
        Fails(pool.Client.Run("SendRequests"), "BKP7035");
        var through = Ask(pool, pool.Src("link"));
        Fails(through, "BKP7042");

        var stored = Directory.Exists(pool.ServerRoot + "data")
            ? Directory.EnumerateFiles(pool.ServerRoot + "data", "*", SearchOption.AllDirectories).ToList() : new List<string>();
        Assert.DoesNotContain(stored, f => File.ReadAllText(f).Contains("the client's secret"));
        Assert.False(Directory.Exists(pool.Dir["backup1/secret"]));
        Assert.False(Directory.Exists(pool.Data + "rsync" + pool.Dir["web1/secret"]));
        Assert.False(File.Exists(pool.Data + "rsync" + pool.Src("link/key.txt")));
    }

    [Fact]
    public void The_mirror_keeps_no_device_fifo_or_setuid_bit_the_client_sends()
    {
        using var pool = NewPool();
        pool.Dir.File("web1/src/www/index.html", "index");
        File.Copy("/bin/true", pool.Src("www/tool"));
        File.SetUnixFileMode(pool.Src("www/tool"), (UnixFileMode)Convert.ToInt32("6755", 8));
        Sh("mkfifo", pool.Src("www/pipe"));
        Sh("mknod", pool.Src("www/disk"), "b", "7", "0");
        Ok(Ask(pool, pool.Src("www")));
        var mirror = pool.Data + "rsync" + pool.Src("www");
        Assert.Equal("index", File.ReadAllText(mirror + "/index.html"));
        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(mirror + "/tool")); // no setuid/setgid, owner-only (--chmod=ug-s,go=)
        Assert.False(Path.Exists(mirror + "/pipe"));
        Assert.False(Path.Exists(mirror + "/disk"));
        // The folders above the mirrors are the server's: only its own user may pass.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(pool.Data + "rsync"));
    }
}
