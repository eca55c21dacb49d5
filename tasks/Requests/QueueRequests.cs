using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// -t:Request and -t:RequestAll: queues backup requests in the pool of a backup server (the seed's
/// backup_it / backup_all). A module's request for a source that is already waiting (state C) is
/// dropped as a duplicate. Sending is SendRequests' job.
/// </summary>
public sealed class QueueRequests : RequestClientTask
{
    /// <summary>The module (directories, git, wordpress, trac, wiki, databases); empty with All=true.</summary>
    public string? Module { get; set; }
    /// <summary>The BackupServer to ask; empty: the default one.</summary>
    public string? Server { get; set; }
    /// <summary>RequestAll: every configured module (the target sets it; -t:Request leaves it false).</summary>
    public bool All { get; set; }
    public string? RunDate { get; set; }

    public ITaskItem[]? Directories { get; set; }
    public ITaskItem[]? GitRepositories { get; set; }
    public ITaskItem[]? WordpressSites { get; set; }
    public ITaskItem[]? TracSites { get; set; }
    public ITaskItem[]? MediawikiSites { get; set; }
    public ITaskItem[]? MysqlDatabases { get; set; }
    public ITaskItem[]? PostgresqlDatabases { get; set; }

    [Output] public ITaskItem[] Queued { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems);
        var all = All;
        var moduleName = (Module ?? "").Trim().ToLowerInvariant();
        if (!all && moduleName.Length == 0) problems.Error("Requests.NoModule", string.Join(", ", RequestModule.Names));
        else if (!all && !RequestModule.Names.Contains(moduleName)) problems.Error("Requests.UnknownModule", Module!, string.Join(", ", RequestModule.Names));
        var modules = Modules(problems);
        BackupServerConfig? server = null;
        var serverName = (Server ?? "").Trim();
        if (!problems.HasErrors)
        {
            if (serverName.Length > 0)
            {
                server = ServerList.FirstOrDefault(s => s.Name == serverName);
                if (server == null) problems.Error("Requests.UnknownServer", serverName, string.Join(", ", ServerList.Select(s => s.Name)));
            }
            else
            {
                server = ServerList.FirstOrDefault(s => s.IsDefault) ?? (ServerList.Count == 1 ? ServerList[0] : null);
                if (server == null) problems.Error("Requests.NoDefaultServer", string.Join(", ", ServerList.Select(s => s.Name)));
            }
        }
        var chosen = all ? modules.Where(m => m.Sources.Count > 0).ToList() : modules.Where(m => m.Name == moduleName).ToList();
        if (!problems.HasErrors && !all && chosen.All(m => m.Sources.Count == 0))
            problems.Error("Requests.ModuleNotConfigured", moduleName, ModuleItem(moduleName));
        if (!problems.HasErrors && all && chosen.Count == 0) problems.Error("Requests.NothingConfigured");
        problems.LogTo(Log);
        if (problems.HasErrors || server == null) return false;

        var now = DateTime.UtcNow;
        var pool = Pool(server.Name);
        PrivateFiles.CreateRoot(pool.Directory);
        using var queueLock = ActionLock.Acquire(pool.Directory, "queue", LockWait, Cancellation);
        var waiting = pool.Ids(RequestState.Complete).Select(id => pool.Load(RequestState.Complete, id))
            .Where(r => r != null).Select(r => r!.Key).ToHashSet(StringComparer.Ordinal);
        var queued = new List<ITaskItem>();
        var sequence = 0;
        foreach (var module in chosen)
        {
            foreach (var source in module.Sources)
            {
                var request = new RequestRecord
                {
                    Id = RequestRecord.NewId(now.AddMilliseconds(sequence++), module.Name, source),
                    Module = module.Name, Transfer = module.Transfer, Path = source,
                    Created = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                };
                if (!waiting.Add(request.Key))
                {
                    Progress("Requests.Duplicate", module.Name, source, server.Name);
                    continue;
                }
                pool.Add(request);
                Progress("Requests.Queued", module.Name, source, server.Name, request.Id);
                var item = new Microsoft.Build.Utilities.TaskItem(request.Id);
                item.SetMetadata("Module", module.Name);
                item.SetMetadata("Source", source);
                item.SetMetadata("Server", server.Name);
                queued.Add(item);
            }
        }
        Queued = queued.ToArray();
        return true;
    }

    private static string ModuleItem(string module) => module switch
    {
        "directories" => "CollectDirectory (or RequestDirectory)",
        "git" => "GitRepository",
        "wordpress" => "WordpressSite",
        "trac" => "TracSite",
        "wiki" => "MediawikiSite",
        _ => "MysqlDatabase or PostgresqlDatabase",
    };

    private List<RequestModule> Modules(Problems problems)
    {
        List<string> Paths(ITaskItem[]? items, string itemType)
        {
            var list = new List<string>();
            foreach (var i in items ?? Array.Empty<ITaskItem>())
            {
                var p = Values.AbsolutePath(i.ItemSpec.Trim(), itemType, problems);
                if (p != null && !list.Contains(p)) list.Add(p);
            }
            return list;
        }
        var git = new List<string>();
        foreach (var i in GitRepositories ?? Array.Empty<ITaskItem>())
        {
            var spec = i.ItemSpec.Trim();
            // Remote URLs are Collect's business; the server pulls repositories that live on this machine.
            if (spec.StartsWith('/')) git.Add(Values.Trim(spec));
        }
        var databases = new List<string>();
        foreach (var i in MysqlDatabases ?? Array.Empty<ITaskItem>()) databases.Add("mysql:" + i.ItemSpec.Trim());
        foreach (var i in PostgresqlDatabases ?? Array.Empty<ITaskItem>()) databases.Add("postgresql:" + i.ItemSpec.Trim());
        // The server keeps one mirror per folder and refuses one inside another (BKP7061): say so here, before anything is queued.
        var directories = Paths(Directories, "CollectDirectory");
        for (var i = 0; i < directories.Count; i++)
            for (var j = i + 1; j < directories.Count; j++)
                if (StoreFolders.Overlap(directories[i], directories[j]))
                    problems.Error("Requests.DirectoriesOverlap", directories[i], directories[j]);
        return new List<RequestModule>
        {
            new("directories", "rsync", directories),
            new("git", "git", git),
            new("wordpress", "sftp", Paths(WordpressSites, "WordpressSite")),
            new("trac", "sftp", Paths(TracSites, "TracSite")),
            new("wiki", "sftp", Paths(MediawikiSites, "MediawikiSite")),
            new("databases", "sftp", databases),
        };
    }
}
