using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Requests;

/// <summary>
/// Two machines on one host: a client (web1) and a backup server (backup1), each with its own folder
/// tree and project, a real sshd on 127.0.0.1 that both reach each other through (each key limited by
/// tools/backupbuild-request-gate as docs/request-queue.md says), and a real SMTP listener for mail.
/// A second client (web2) with its own key and folder exists for the refusal cases.
/// </summary>
public sealed class RequestPool : IDisposable
{
    public readonly TempDir Dir = new();
    public readonly SshServer Ssh = new();
    public readonly SmtpListener Smtp = new();
    public readonly string Web1Key, Web2Key, ServerKey;
    public readonly BackupProject Client, Server;

    public RequestPool()
    {
        foreach (var p in new[] { "git", "rsync", "sftp", "sqlite3" }) Tool.Require(p);
        Web1Key = Ssh.NewKey("web1");
        Web2Key = Ssh.NewKey("web2");
        ServerKey = Ssh.NewKey("backup1");
        Dir.Dir("web1/src");
        Dir.Dir("web2/src");
        Dir.Dir("backup1");
        var gate = Path.Combine(Repo.Root, "tools", "backupbuild-request-gate");
        Ssh.Authorize(
            (Web1Key, $"{gate} control {ServerRoot}control/web1.git"),
            (Web2Key, $"{gate} control {ServerRoot}control/web2.git"),
            (ServerKey, $"{gate} data {Dir["web1/src"]} {Dir["web2/src"]} {Dir["web1/requests/outgoing"]} {Dir["web2/requests/outgoing"]}"));

        Client = ClientProject("web1", Web1Key, "web1");
        Server = new BackupProject(Dir.Dir("backup1/project"))
            .Property("BackupPeer", "backup1")
            .Property("RequestServerRoot", ServerRoot)
            .Property("RequestKnownHostsFile", Ssh.KnownHosts)
            .Property("MailTo", "admin@example.org")
            .Property("MailMethod", "smtp").Property("MailSmtpHost", "127.0.0.1").Property("MailSmtpPort", Smtp.Port.ToString())
            .Item("RequestClient", "web1", ("Host", "127.0.0.1"), ("Port", Ssh.Port.ToString()), ("User", "root"), ("IdentityFile", ServerKey),
                ("Folders", Dir["web1/src"]), ("Outgoing", Dir["web1/requests/outgoing"]))
            .Item("RequestClient", "web2", ("Host", "127.0.0.1"), ("Port", Ssh.Port.ToString()), ("User", "root"), ("IdentityFile", ServerKey),
                ("Folders", Dir["web2/src"]), ("Outgoing", Dir["web2/requests/outgoing"]));
    }

    public string ServerRoot => Dir["backup1/root"] + "/";
    public string Src(string relative = "") => Path.Combine(Dir["web1/src"], relative);
    public string Pool => Dir["web1/requests/backup1"];
    public string Data => ServerRoot + "data/web1/";

    /// <summary>A client project: its requests go to backup1's control repository <paramref name="repository"/>.git.</summary>
    public BackupProject ClientProject(string name, string key, string repository) =>
        new BackupProject(Dir.Dir(name + "/project"))
            .Property("BackupPeer", name)
            .Property("RequestRoot", Dir[name + "/requests"] + "/")
            .Property("RequestKnownHostsFile", Ssh.KnownHosts)
            .Property("MailTo", "admin@example.org")
            .Property("MailMethod", "smtp").Property("MailSmtpHost", "127.0.0.1").Property("MailSmtpPort", Smtp.Port.ToString())
            .Item("BackupServer", "backup1", ("Host", "127.0.0.1"), ("Port", Ssh.Port.ToString()), ("User", "root"), ("IdentityFile", key),
                ("Repository", $"{ServerRoot}control/{repository}.git"), ("Default", "true"));

    /// <summary>The client's sources: a folder for rsync, a git repository, and a Trac site (SQLite) for sftp.</summary>
    public void MakeSources()
    {
        Dir.File("web1/src/www/index.html", "<h1>hello</h1>");
        Dir.File("web1/src/www/css/site.css", "body { color: black }");
        Dir.File("web1/src/trac/conf/trac.ini", "[trac]\ndatabase = sqlite:db/trac.db\n");
        Dir.File("web1/src/trac/files/attachment.txt", "an attachment");
        Dir.Dir("web1/src/trac/db");
        Sh("sqlite3", Src("trac/db/trac.db"), "CREATE TABLE ticket (id integer PRIMARY KEY, summary text); INSERT INTO ticket VALUES (1, 'first');");
        Sh("git", "init", "-q", "-b", "main", Src("work"));
        Dir.File("web1/src/work/README", "one");
        Git("add", "README");
        Git("commit", "-q", "-m", "first");
        Dir.File("web1/src/work/README", "two");
        Git("commit", "-q", "-am", "second");
        Git("tag", "v1");
        Git("branch", "topic");
        Sh("git", "clone", "-q", "--bare", Src("work"), Src("repo.git"));
        Client.Item("RequestDirectory", Src("www"))
              .Item("GitRepository", Src("repo.git"))
              .Item("TracSite", Src("trac"));
    }

    public string Git(params string[] args) => Sh("git", new[] { "-C", Src("work"), "-c", "user.name=t", "-c", "user.email=t@e" }.Concat(args).ToArray());

    public static string Sh(string program, params string[] args)
    {
        var r = Tool.Run(program, args);
        Assert.True(r.ExitCode == 0, $"{program} {string.Join(' ', args)}: {r.All}");
        return r.Output.Trim();
    }

    public static void Ok(Tool.Result r) => Assert.True(r.ExitCode == 0, r.All);

    public static void Fails(Tool.Result r, string code)
    {
        Assert.True(r.ExitCode != 0, r.All);
        Assert.Contains(code, r.All);
    }

    /// <summary>Files of a folder with their contents, relative names, sorted.</summary>
    public static string[] Tree(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f) + "=" + File.ReadAllText(f)).Order(StringComparer.Ordinal).ToArray();

    public string[] PoolFiles => Directory.Exists(Pool) ? Directory.EnumerateFiles(Pool).Select(Path.GetFileName).Where(n => !n!.EndsWith(".lock")).Select(n => n!).Order().ToArray() : Array.Empty<string>();

    public void Dispose()
    {
        Smtp.Dispose();
        Ssh.Dispose();
        Dir.Dispose();
    }
}
