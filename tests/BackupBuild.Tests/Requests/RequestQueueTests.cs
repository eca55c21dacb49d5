using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Requests.RequestPool;

namespace BackupBuild.Tests.Requests;

/// <summary>The request queue end to end: a client and a backup server through real sshd, git, rsync, sftp and SMTP.</summary>
[Collection("RequestQueue")]
public class RequestQueueTests
{
    [Fact]
    public void Every_transfer_method_goes_round_trip_and_a_request_is_finished_only_after_the_servers_acknowledgement()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("RequestAll"));
        Assert.Equal(3, pool.PoolFiles.Count(f => f.StartsWith('C')));

        // Sent, but not yet acknowledged: the requests stay (P) until the server has taken them in.
        var send = pool.Client.Run("SendRequests");
        Ok(send);
        Assert.Contains("3 request(s) delivered to backup1", send.Output);
        Assert.Equal(3, pool.PoolFiles.Count(f => f.StartsWith('P')));
        var outgoing = Directory.GetFiles(pool.Dir["web1/requests/outgoing/backup1"]);
        Assert.Single(outgoing);

        var process = pool.Server.Run("ProcessRequests");
        Ok(process);

        // rsync: a mirror of the folder.
        Assert.Equal(Tree(pool.Src("www")), Tree(pool.Data + "rsync" + pool.Src("www")));
        // git: every ref and all history.
        Assert.Equal(Sh("git", "--git-dir=" + pool.Src("repo.git"), "for-each-ref", "--format=%(objectname) %(refname)"),
            Sh("git", "--git-dir=" + pool.Data + "git" + pool.Src("repo.git"), "for-each-ref", "--format=%(objectname) %(refname)"));
        Sh("git", "--git-dir=" + pool.Data + "git" + pool.Src("repo.git"), "fsck", "--strict");
        // sftp: one verified object, one version, and the client's copy removed only afterwards.
        var objects = Directory.GetFiles(pool.Data + "sftp/objects");
        Assert.Single(objects);
        Assert.Equal(Path.GetFileName(outgoing[0]), Path.GetFileName(objects[0]));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/versions"));
        Assert.False(File.Exists(outgoing[0]));
        var listing = Sh("tar", "tzf", objects[0]);
        Assert.Contains("trac/files/attachment.txt", listing);
        Assert.Contains(".sql", listing);
        Assert.DoesNotContain("trac/db/trac.db", listing); // the live database is dumped, never copied

        // The next send reads the acknowledgements and finishes the requests.
        Ok(pool.Client.Run("SendRequests"));
        Assert.Empty(pool.PoolFiles);
        Assert.Empty(Directory.GetFiles(pool.ServerRoot + "TODO/web1"));
    }

    [Fact]
    public void The_git_mirror_keeps_history_the_client_rewrote_and_branches_it_deleted()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=git"));
        Ok(pool.Client.Run("SendRequests"));
        Ok(pool.Server.Run("ProcessRequests"));
        var mirror = "--git-dir=" + pool.Data + "git" + pool.Src("repo.git");
        var second = Sh("git", mirror, "rev-parse", "refs/heads/main");

        // On the client: main is rewound and rewritten (a forced push), topic is deleted.
        var bare = "--git-dir=" + pool.Src("repo.git");
        var first = Sh("git", bare, "rev-parse", "main~1");
        Sh("git", bare, "update-ref", "refs/heads/main", first);
        Sh("git", bare, "branch", "-D", "topic");
        Ok(pool.Client.Run("Request", "Module=git"));
        Ok(pool.Client.Run("SendRequests"));
        var process = pool.Server.Run("ProcessRequests");
        Ok(process);
        Assert.Contains("BKP7043", process.Output);

        Assert.Equal(first, Sh("git", mirror, "rev-parse", "refs/heads/main"));
        Assert.Equal(second, Sh("git", mirror, "rev-parse", "refs/heads/topic"));
        var attic = Sh("git", mirror, "for-each-ref", "--format=%(objectname) %(refname)", "refs/attic");
        Assert.Contains(second + " refs/attic/", attic);
        Assert.EndsWith("/heads/main", attic);
    }

    [Fact]
    public void A_control_line_cut_during_the_push_keeps_the_request_and_the_next_run_delivers_it()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=directories"));
        // The server's side of the push hangs (a hook that waits), and the connection is then cut.
        var repo = pool.ServerRoot + "control/web1.git";
        Sh("git", "init", "-q", "--bare", repo);
        var marker = pool.Dir["push-started"];
        File.WriteAllText(repo + "/hooks/pre-receive", $"#!/bin/sh\ntouch {marker}\nsleep 60\n");
        File.SetUnixFileMode(repo + "/hooks/pre-receive", (UnixFileMode)0b111_101_101);
        var running = Task.Run(() => pool.Client.Run("SendRequests"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(marker) && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.True(File.Exists(marker), "the push never reached the server");
        pool.Ssh.Stop();
        var cut = running.Result;
        Fails(cut, "BKP7033");
        Assert.Single(pool.PoolFiles, f => f.StartsWith('P'));
        Assert.NotNull(pool.Smtp.WaitFor("errors in sending backup requests"));

        File.Delete(repo + "/hooks/pre-receive");
        pool.Ssh.Start();
        Ok(pool.Client.Run("SendRequests"));
        Ok(pool.Server.Run("ProcessRequests"));
        Assert.Equal(Tree(pool.Src("www")), Tree(pool.Data + "rsync" + pool.Src("www")));
        Ok(pool.Client.Run("SendRequests"));
        Assert.Empty(pool.PoolFiles);
    }

    [Fact]
    public void A_corrupted_sftp_transfer_is_caught_the_clients_copy_kept_and_the_next_run_succeeds()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=trac"));
        Ok(pool.Client.Run("SendRequests"));
        var prepared = Directory.GetFiles(pool.Dir["web1/requests/outgoing/backup1"]).Single();
        var original = File.ReadAllBytes(prepared);
        var damaged = (byte[])original.Clone();
        damaged[damaged.Length / 2] ^= 0xff;
        File.WriteAllBytes(prepared, damaged);

        var process = pool.Server.Run("ProcessRequests");
        Fails(process, "BKP7042");
        Assert.Contains("SHA-256", process.All);
        Assert.True(File.Exists(prepared));
        Assert.Empty(Directory.GetFiles(pool.Data + "sftp/objects"));
        Assert.Empty(Directory.GetFiles(pool.Data + "sftp/incomplete"));
        var mail = pool.Smtp.WaitFor("errors in backup");
        Assert.NotNull(mail);
        Assert.Contains("admin@example.org", mail);

        File.WriteAllBytes(prepared, original); // the next transfer arrives whole
        Ok(pool.Server.Run("ProcessRequests"));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/objects"));
        Assert.False(File.Exists(prepared));
    }

    [Fact]
    public void A_client_cannot_push_into_another_clients_repository_nor_ask_for_its_folders()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        pool.Dir.File("web2/src/notes.txt", "web2's own");

        // web2's key pushing into web1's control repository: the gate refuses it.
        var intruder = pool.ClientProject("web2x", pool.Web2Key, "web1").Property("RequestClientName", "web2").Item("RequestDirectory", pool.Dir["web2/src"]);
        Ok(intruder.Run("Request", "Module=directories"));
        Fails(intruder.Run("SendRequests"), "BKP7033");
        Assert.False(Directory.Exists(pool.ServerRoot + "control/web1.git/refs/heads/requests") &&
                     File.Exists(pool.ServerRoot + "control/web1.git/refs/heads/requests"));

        // web2 through its own repository, asking for a folder of web1: refused by the server, reported back.
        var web2 = pool.ClientProject("web2", pool.Web2Key, "web2").Item("RequestDirectory", pool.Src("www"));
        Ok(web2.Run("Request", "Module=directories"));
        Ok(web2.Run("SendRequests"));
        var process = pool.Server.Run("ProcessRequests");
        Fails(process, "BKP7040");
        Assert.False(Directory.Exists(pool.ServerRoot + "data/web2/rsync"));
        Fails(web2.Run("SendRequests"), "BKP7035");
        Assert.Empty(Directory.GetFiles(pool.Dir["web2/requests/backup1"]).Where(f => !f.EndsWith(".lock")));
    }

    [Fact]
    public void The_same_request_queued_twice_is_queued_once()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=directories"));
        var again = pool.Client.Run("Request", "Module=directories", "Server=backup1");
        Ok(again);
        Assert.Contains("dropped as a duplicate", again.Output);
        Assert.Single(pool.PoolFiles);
        Fails(pool.Client.Run("Request", "Module=nosuch"), "BKP7021");
        Fails(pool.Client.Run("Request", "Module=wiki"), "BKP7024");
        Fails(pool.Client.Run("Request", "Module=directories", "Server=elsewhere"), "BKP7022");
        Assert.Single(pool.PoolFiles);
    }

    [Fact]
    public void Browse_lists_verifies_exports_and_prunes_versions_and_the_daily_summary_is_mailed_through_sendmail()
    {
        Tool.Require("msmtp");
        using var pool = new RequestPool();
        pool.MakeSources();
        for (var i = 0; i < 3; i++)
        {
            if (i == 2) PoolSql(pool, "INSERT INTO ticket VALUES (2, 'second');");
            Ok(pool.Client.Run("Request", "Module=trac"));
            Ok(pool.Client.Run("SendRequests"));
            Ok(pool.Server.Run("ProcessRequests"));
            Ok(pool.Client.Run("SendRequests"));
            Thread.Sleep(1100);
        }
        var list = pool.Server.Run("Browse", "BrowseClient=web1", "BrowsePath=trac");
        Ok(list);
        Assert.Contains("3 version(s) of web1", list.Output);
        Assert.Contains(" first ", list.Output);
        Assert.Contains(" changed ", list.Output);
        Assert.Equal(2, Directory.GetFiles(pool.Data + "sftp/objects").Length); // identical content stored once

        Ok(pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=verify"));
        var export = pool.Dir.Dir("export");
        Ok(pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=export", "BrowseExportDir=" + export));
        Assert.Equal(3, Directory.GetFiles(export).Length);

        // A damaged object is found.
        var obj = Directory.GetFiles(pool.Data + "sftp/objects").First();
        var bytes = File.ReadAllBytes(obj);
        File.WriteAllBytes(obj + ".good", bytes);
        bytes[10] ^= 1;
        File.WriteAllBytes(obj, bytes);
        Fails(pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=verify"), "BKP7055");
        File.Move(obj + ".good", obj, overwrite: true);

        // Keep the newest version: the two older ones go, and the object only they used.
        Fails(pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=prune"), "BKP7053");
        var prune = pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=prune", "BrowseKeepLast=1");
        Ok(prune);
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/versions"));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/objects"));
        Ok(pool.Server.Run("Browse", "BrowseClient=web1", "BrowseCommand=verify"));

        // The daily summary, through a sendmail-compatible program (msmtp) to the same SMTP listener.
        var today = DateTime.Now.ToString("yyyy-MM-dd");
        var summary = pool.Server.Run("RequestSummary", "SummaryDate=" + today, "MailMethod=sendmail", "MailSendmail=/usr/bin/msmtp",
            $"MailSendmailArguments=--host=127.0.0.1 --port={pool.Smtp.Port}");
        Ok(summary);
        var mail = pool.Smtp.WaitFor("daily summary for " + today);
        Assert.NotNull(mail);
        Assert.Contains("web1: 3 request(s) received, 3 pulled", mail);
    }

    [Fact]
    public void Runs_killed_in_any_state_are_recovered_by_the_next_run()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=trac"));
        Ok(pool.Client.Run("Request", "Module=directories"));
        // A -t:Request killed while writing (i), and a SendRequests killed while preparing (P, half a dump,
        // a temporary archive in the outgoing folder).
        File.WriteAllText(Path.Combine(pool.Pool, "i20261122T000000000Z-git-0123456789ab"), "id=2026");
        foreach (var c in Directory.GetFiles(pool.Pool, "C*"))
            File.Move(c, Path.Combine(pool.Pool, "P" + Path.GetFileName(c)[1..]));
        var tracId = Path.GetFileName(Directory.GetFiles(pool.Pool, "P*-trac-*").Single())[1..];
        pool.Dir.File($"web1/requests/prepare/{tracId}/trac-half.sql", "CREATE TAB");
        pool.Dir.File("web1/requests/outgoing/backup1/.bkp-tmp-prepared.1234abcd", "half an archive");

        var send = pool.Client.Run("SendRequests");
        Ok(send);
        Assert.Contains("BKP7030", send.Output);
        Assert.Contains("2 request(s) delivered", send.Output);
        var outgoing = Directory.GetFiles(pool.Dir["web1/requests/outgoing/backup1"]);
        Assert.Single(outgoing);
        Assert.DoesNotContain("trac-half.sql", Sh("tar", "tzf", outgoing[0]));

        // The server takes them in but cannot reach the client; then a run is killed mid-pull (P left behind).
        pool.Ssh.Stop();
        Fails(pool.Server.Run("ProcessRequests"), "BKP7042");
        var todo = pool.ServerRoot + "TODO/web1";
        foreach (var c in Directory.GetFiles(todo, "C*"))
            File.Move(c, Path.Combine(todo, "P" + Path.GetFileName(c)[1..]));
        pool.Ssh.Start();
        var resumed = pool.Server.Run("ProcessRequests");
        Ok(resumed);
        Assert.Contains("resuming", resumed.Output);
        Assert.Equal(Tree(pool.Src("www")), Tree(pool.Data + "rsync" + pool.Src("www")));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/objects"));
        Assert.Empty(Directory.GetFiles(todo));
        Ok(pool.Client.Run("SendRequests"));
        Assert.Empty(pool.PoolFiles);
    }

    private static void PoolSql(RequestPool pool, string sql) => Sh("sqlite3", pool.Src("trac/db/trac.db"), sql);
}
