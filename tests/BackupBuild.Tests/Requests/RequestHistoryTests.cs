using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Requests.RequestPool;

namespace BackupBuild.Tests.Requests;

/// <summary>The directories module keeps versions, Browse shows mirrors, git's real refusal reaches the message, the queue's own items.</summary>
[Collection("RequestQueue")]
public class RequestHistoryTests
{
    [Fact]
    public void A_file_changed_or_deleted_on_the_client_is_kept_in_that_pulls_version_and_Browse_lists_mirrors_without_sftp_versions()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=directories"));
        Ok(pool.Client.Run("SendRequests"));
        Ok(pool.Server.Run("ProcessRequests"));
        Ok(pool.Client.Run("SendRequests"));
        var mirror = pool.Data + "rsync" + pool.Src("www");
        Assert.True(File.Exists(mirror + "/css/site.css"));
        // A pull that changed nothing leaves no version folder behind.
        Assert.Empty(Directory.Exists(pool.Data + "rsync-versions") ? Directory.GetDirectories(pool.Data + "rsync-versions") : []);

        File.WriteAllText(pool.Src("www/index.html"), "<h1>changed</h1>");
        File.Delete(pool.Src("www/css/site.css"));
        Ok(pool.Client.Run("Request", "Module=directories"));
        Ok(pool.Client.Run("SendRequests"));
        Ok(pool.Server.Run("ProcessRequests"));

        Assert.False(File.Exists(mirror + "/css/site.css"));
        Assert.Equal("<h1>changed</h1>", File.ReadAllText(mirror + "/index.html"));
        var version = Assert.Single(Directory.GetDirectories(pool.Data + "rsync-versions"));
        var old = version + pool.Src("www");
        Assert.Equal("body { color: black }", File.ReadAllText(old + "/css/site.css"));
        Assert.Equal("<h1>hello</h1>", File.ReadAllText(old + "/index.html"));

        // Only the directories module: Browse lists the mirror and its version (it used to fail with BKP7054).
        var list = pool.Server.Run("Browse", "BrowseClient=web1");
        Ok(list);
        Assert.Contains(pool.Src("www") + " (directories, rsync mirror", list.Output);
        Assert.Contains("2 file(s) changed or deleted", list.Output);
        Assert.Contains("1 rsync mirror(s) with 1 version(s), 0 git mirror(s) of web1", list.Output);
        // A client with nothing at all stays an error.
        Fails(pool.Server.Run("Browse", "BrowseClient=web2"), "BKP7054");
    }

    [Fact]
    public void Gits_dubious_ownership_refusal_on_the_client_is_named_in_BKP7042_not_only_could_not_read()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Sh("chown", "-R", "nobody", pool.Src("repo.git"));
        Ok(pool.Client.Run("Request", "Module=git"));
        Ok(pool.Client.Run("SendRequests"));
        var r = pool.Server.Run("ProcessRequests");
        Fails(r, "BKP7042");
        Assert.Contains("dubious ownership", r.All);
        Assert.False(Directory.Exists(pool.Data + "git" + pool.Src("repo.git") + "/refs/heads/main"));
    }

    [Fact]
    public void RequestGitRepository_items_feed_the_queue_alone_and_GitRepository_items_are_not_needed()
    {
        using var pool = new RequestPool();
        Sh("git", "init", "-q", "--bare", pool.Dir.Dir("web1/src/only.git"));
        pool.Client.Item("RequestGitRepository", pool.Src("only.git"));
        var r = pool.Client.Run("Request", "Module=git");
        Ok(r);
        Assert.Contains(pool.Src("only.git"), r.Output);
        Assert.Single(pool.PoolFiles);
        // The nightly git module has no item: Collect writes no git archive.
        var evaluated = Tool.RunIn(pool.Dir["web1/project"], "dotnet", "msbuild", pool.Client.ProjectPath, "-getItem:GitRepository", "-nologo");
        Assert.DoesNotContain("only.git", evaluated.Output);
    }

    [Fact]
    public void A_file_the_clients_account_may_not_remove_is_a_permission_problem_not_a_refused_key()
    {
        var denied = new BackupBuild.Tasks.Infrastructure.ProgramResult(1, [], "remote delete \"/var/lib/backupbuild/requests/outgoing/backup1/ab\": Permission denied\n", false, false);
        var why = BackupBuild.Tasks.Requests.Transfers.Describe("sftp", denied);
        Assert.DoesNotContain("refused the server's key", why);
        Assert.Contains("may not read or remove", why);
        var key = new BackupBuild.Tasks.Infrastructure.ProgramResult(255, [], "backup@web1: Permission denied (publickey).\n", false, false);
        Assert.Contains("refused the server's key", BackupBuild.Tasks.Requests.Transfers.Describe("sftp", key));
    }
}
