using System.Security.Cryptography;
using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Security;

/// <summary>
/// A client's file system for gate attacks: what a gate may serve (a collect dir, request folders, a
/// control repository), canaries around it (a secret file outside, a sibling folder whose name starts
/// the same, links from inside to outside), and programs an injected command would run (each leaves a
/// marker file). <see cref="Changes"/> compares the whole tree (but the attacker's receiving folder)
/// with how it started, and looks for files an attack tried to create in root's home.
/// </summary>
internal sealed class GateWorld : IDisposable
{
    private readonly Dictionary<string, string> _before;

    public GateWorld()
    {
        Tag = Guid.NewGuid().ToString("N")[..8];
        Secret = "SECRET-CANARY-" + Tag;
        Dir.File("collect/a.tar", "archive a");
        Dir.File("collect/cback.collect", "");
        Dir.File("collect2/sibling.tar", Secret);                  // a folder whose name starts like the collect dir
        Dir.File("outside/secret.txt", Secret);
        Dir.File("outside/victim.txt", "victim");
        Dir.File("outside/list", "secret.txt\n");
        Dir.File("www/index.html", "<h1>site</h1>");
        Dir.File("www/sub/page.html", "page");
        Dir.File("www2/sibling.html", Secret);
        Dir.Dir("outgoing");
        File.CreateSymbolicLink(Dir["collect/evil-link"], Dir["outside/secret.txt"]);
        File.CreateSymbolicLink(Dir["collect-link"], Dir["outside"]);
        File.CreateSymbolicLink(Dir["www/escape"], Dir["outside"]);
        File.CreateSymbolicLink(Dir["www/repo-link"], Dir["outside-repo.git"]);
        Git("init", "-q", "--bare", Dir["outside-repo.git"]);
        Git("init", "-q", "--bare", Dir["git/project.git"]);
        Git("init", "-q", "--bare", Dir["control/web2.git"]);
        Program("bin/marker", "marker.ran");
        Program("evil/dotnet", "dotnet.ran");
        File.WriteAllText(Dir["other.proj"], $"""
            <Project>
              <Target Name="Collect"><Touch Files="{Dir["other.ran"]}" AlwaysCreate="true" /></Target>
              <Target Name="Purge"><Touch Files="{Dir["other.ran"]}" AlwaysCreate="true" /></Target>
            </Project>
            """);
        File.WriteAllText(Dir["client.proj"], "<Project><Target Name=\"Collect\" /></Project>");
        Dir.Dir("received");
        _before = Tree(Dir.Path);
    }

    public TempDir Dir { get; } = new();
    public string Tag { get; }
    /// <summary>The content of every file an attacker must not get.</summary>
    public string Secret { get; }
    public string Collect => Dir["collect"];
    public string Received => Dir["received"];
    public string MarkerProgram => Dir["bin/marker"];
    /// <summary>A path in root's home (the backup user's home here) that attacks try to create.</summary>
    public string HomeTrap => "/root/bkp-gate-attack-" + Tag;

    /// <summary>What differs from the start: changed, new or missing entries, markers, files in root's home, secrets received.</summary>
    public List<string> Changes()
    {
        var changes = new List<string>();
        var now = Tree(Dir.Path);
        foreach (var (path, state) in _before)
            if (!now.TryGetValue(path, out var s)) changes.Add("deleted: " + path);
            else if (s != state) changes.Add("modified: " + path);
        foreach (var path in now.Keys.Where(p => !_before.ContainsKey(p) && !p.StartsWith("received/", StringComparison.Ordinal)))
            changes.Add("created: " + path);
        foreach (var marker in new[] { "marker.ran", "dotnet.ran", "other.ran" })
            if (File.Exists(Dir[marker])) changes.Add("a program ran: " + marker);
        foreach (var f in Directory.EnumerateFileSystemEntries("/root", "bkp-gate-attack-" + Tag + "*"))
            changes.Add("created in the home: " + f);
        foreach (var f in Walk(Received))
            if (new FileInfo(f).LinkTarget == null && File.Exists(f) && File.ReadAllText(f).Contains(Secret)) changes.Add("secret copied out: " + f);
        return changes;
    }

    /// <summary>Empties the receiving folder between attacks.</summary>
    public void ClearReceived()
    {
        Directory.Delete(Received, recursive: true);
        Directory.CreateDirectory(Received);
    }

    public void Dispose()
    {
        foreach (var f in Directory.EnumerateFileSystemEntries("/root", "bkp-gate-attack-" + Tag + "*")) File.Delete(f);
        Dir.Dispose();
    }

    /// <summary>Every entry under a folder (not through links) with its type, size, time and content hash.</summary>
    private static Dictionary<string, string> Tree(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Walk(root))
        {
            var relative = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            if (info.LinkTarget != null) result[relative] = "link " + info.LinkTarget;
            else if (Directory.Exists(path)) result[relative] = "dir";
            else
                result[relative] = $"{info.Length} {info.LastWriteTimeUtc.Ticks} " +
                                   Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        }
        return result;
    }

    /// <summary>Every entry under a folder, recursing into real folders only (never through a link).</summary>
    private static IEnumerable<string> Walk(string root)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { AttributesToSkip = 0 }))
        {
            yield return path;
            if (new FileInfo(path).LinkTarget == null && Directory.Exists(path))
                foreach (var inner in Walk(path)) yield return inner;
        }
    }

    private void Program(string relative, string marker)
    {
        var path = Dir.File(relative, $"#!/bin/sh\necho ran \"$@\" >> {Dir[marker]}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static void Git(params string[] args)
    {
        var r = Tool.Run("git", args);
        if (r.ExitCode != 0) throw new InvalidOperationException("git failed: " + r.All);
    }
}
