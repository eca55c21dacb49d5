// bench/libgit2.sh: medians of alternating rounds, old (git program) against new (in-process LibGit2Sharp).
using System.Diagnostics;
using System.Reflection;
using System.Text;

var work = args[0];
var mirror = args[1];
var rounds = int.Parse(args[2]);
var tasks = typeof(BackupBuild.Tasks.Infrastructure.LocalGitError).Assembly;
var control = tasks.GetType("BackupBuild.Tasks.Requests.ControlRepository")!;
var localGit = tasks.GetType("BackupBuild.Tasks.Infrastructure.LocalGit")!;
T Call<T>(Type t, string name, params object?[] a) =>
    (T)t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic).Single(m => m.Name == name && m.GetParameters().Length == a.Length).Invoke(null, a)!;

var env = new Dictionary<string, string>
{
    ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_AUTHOR_NAME"] = "BackupBuild", ["GIT_AUTHOR_EMAIL"] = "backupbuild@localhost",
    ["GIT_COMMITTER_NAME"] = "BackupBuild", ["GIT_COMMITTER_EMAIL"] = "backupbuild@localhost", ["LC_ALL"] = "C",
};
(int Code, string Out) Git(string? input, params string[] a)
{
    var info = new ProcessStartInfo("git") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var x in a) info.ArgumentList.Add(x);
    foreach (var (k, v) in env) info.Environment[k] = v;
    using var p = Process.Start(info)!;
    var err = p.StandardError.ReadToEndAsync();
    if (input != null) p.StandardInput.Write(input);
    p.StandardInput.Close();
    var output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    err.Wait();
    return (p.ExitCode, output);
}
string Out(string? input, params string[] a) { var r = Git(input, a); if (r.Code != 0) throw new Exception("git " + a[1] + " failed"); return r.Out.TrimEnd('\n'); }

// The old GitCommand, as it was: one git process per step.
string OldCommit(string dir, List<(string, string)> files, string refName)
{
    var gd = "--git-dir=" + dir;
    var parentRun = Git(null, gd, "rev-parse", "-q", "--verify", refName + "^{commit}");
    var parent = parentRun.Code == 0 ? parentRun.Out.Trim() : null;
    var lines = new List<string>();
    foreach (var (name, content) in files)
        lines.Add($"100644 blob {Out(content, gd, "hash-object", "-w", "--stdin")}\t{name}");
    var tree = Out(string.Join("\n", lines) + "\n", gd, "mktree");
    if (parent != null && Out(null, gd, "rev-parse", parent + "^{tree}") == tree) return parent;
    var a = new List<string> { gd, "commit-tree", tree, "-m", "bench" };
    if (parent != null) { a.Add("-p"); a.Add(parent); }
    var commit = Out(null, a.ToArray());
    Out(null, gd, "update-ref", refName, commit);
    return commit;
}
Dictionary<string, string> OldRead(string dir, string refName)
{
    var gd = "--git-dir=" + dir;
    var tip = Out(null, gd, "rev-parse", "-q", "--verify", refName + "^{commit}");
    var result = new Dictionary<string, string>();
    foreach (var line in Out(null, gd, "ls-tree", "-z", tip).Split('\0', StringSplitOptions.RemoveEmptyEntries))
    {
        var tab = line.IndexOf('\t');
        result[line[(tab + 1)..]] = Out(null, gd, "cat-file", "blob", line[..tab].Split(' ')[2]);
    }
    return result;
}
string NewCommit(string dir, List<(string, string)> files, string refName)
{
    var parent = Call<string?>(control, "Resolve", dir, refName);
    var commit = Call<string>(control, "CommitFlatTree", dir, files, parent, "bench");
    if (commit != parent) Call<object?>(control, "UpdateRef", dir, refName, commit);
    return commit;
}
Dictionary<string, string> NewRead(string dir, string refName) => Call<Dictionary<string, string>>(control, "ReadFlatTree", dir, refName);

List<(string, string)> Requests(int n, int round) =>
    Enumerable.Range(0, n).Select(i => ($"20261204T2300{i:D2}000Z-git-{round:x6}{i:x6}", $"id=x\nmodule=git\npath=/srv/git/r{i}.git\nround={round}\n")).ToList();

double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }
void Report(string what, List<double> old, List<double> @new, string oldName, string newName)
{
    var o = Median(old); var n = Median(@new);
    Console.WriteLine($"{what}: {oldName} {o * 1000:F1} ms, {newName} {n * 1000:F1} ms, ratio old/new {o / n:F2}");
}
double Time(Action a) { var sw = Stopwatch.StartNew(); a(); return sw.Elapsed.TotalSeconds; }

var oldRepo = Path.Combine(work, "old.git"); var newRepo = Path.Combine(work, "new.git");
foreach (var d in new[] { oldRepo, newRepo }) { if (Directory.Exists(d)) Directory.Delete(d, true); }
Out(null, "init", "-q", "--bare", oldRepo);
Call<object?>(control, "EnsureBare", newRepo);
Call<object?>(localGit, "EnsureLoaded");
// Warm both (process start, native library load, page cache).
OldCommit(oldRepo, Requests(1, 0), "refs/heads/warm"); NewCommit(newRepo, Requests(1, 0), "refs/heads/warm");

var only = Environment.GetEnvironmentVariable("BENCH_ONLY");
foreach (var n in only == "verify" ? Array.Empty<int>() : new[] { 1, 10 })
{
    List<double> oc = new(), nc = new(), or = new(), nr = new();
    for (var r = 1; r <= rounds; r++)
    {
        var files = Requests(n, r);
        oc.Add(Time(() => OldCommit(oldRepo, files, "refs/heads/requests")));
        nc.Add(Time(() => NewCommit(newRepo, files, "refs/heads/requests")));
        Dictionary<string, string>? a = null, b = null;
        or.Add(Time(() => a = OldRead(oldRepo, "refs/heads/requests")));
        nr.Add(Time(() => b = NewRead(newRepo, "refs/heads/requests")));
        if (!a!.OrderBy(x => x.Key).SequenceEqual(b!.OrderBy(x => x.Key))) throw new Exception("old and new read different trees");
    }
    Report($"control commit of {n} request(s)", oc, nc, "git", "LibGit2Sharp");
    Report($"control read of {n} request(s)", or, nr, "git", "LibGit2Sharp");
}

// The git module's look at a repository before its bundle: two git processes against opening it and reading its refs.
{
    List<double> o = new(), n = new();
    for (var r = 0; r < (only == "verify" ? 0 : rounds); r++)
    {
        o.Add(Time(() => { Git(null, "-C", mirror, "symbolic-ref", "-q", "HEAD"); Out(null, "-C", mirror, "for-each-ref", "--format=%(objectname) %(refname)"); }));
        n.Add(Time(() => { using var repo = Call<LibGit2Sharp.Repository>(localGit, "Open", mirror); localGit.GetMethod("Refs")!.Invoke(null, new object[] { repo }); }));
    }
    if (o.Count > 0) Report("refs of the repository (collect)", o, n, "git symbolic-ref + for-each-ref", "LibGit2Sharp");
}

// Reading every object: git fsck --full (the program's check) against LocalGit.ReadEveryObject (Browse verify, the git module).
{
    List<double> o = new(), n = new();
    var objects = 0;
    for (var r = 0; r < Math.Max(3, rounds / 4); r++)
    {
        o.Add(Time(() => Out(null, "-C", mirror, "fsck", "--full", "--no-dangling", "--no-progress")));
        n.Add(Time(() =>
        {
            using var repo = Call<LibGit2Sharp.Repository>(localGit, "Open", mirror);
            var check = localGit.GetMethod("ReadEveryObject", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!
                .Invoke(null, new object[] { repo, CancellationToken.None, 20 })!;
            objects = (int)check.GetType().GetProperty("Objects")!.GetValue(check)!;
        }));
    }
    Report($"read every object ({objects} objects)", o, n, "git fsck --full", "LibGit2Sharp");
}
