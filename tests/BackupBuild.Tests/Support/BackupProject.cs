using System.Security;

namespace BackupBuild.Tests.Support;

/// <summary>
/// A generated backup.proj in a temporary folder that imports the repository's targets and
/// runs them with `dotnet msbuild`, the way a user does.
/// </summary>
public sealed class BackupProject
{
    private readonly List<string> _properties = new();
    private readonly List<string> _items = new();

    public BackupProject(string directory)
    {
        Directory = directory;
        Root = System.IO.Path.Combine(directory, "var") + "/";
    }

    /// <summary>
    /// The tests' pool of one: machine "master", a daily targz of src/docs (one file), its collect dir purged
    /// after Stage (RetainDays 0), as the embedded default does.
    /// </summary>
    public static BackupProject PoolOfOne(TempDir t)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        return new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
    }

    public string Directory { get; }
    public string Root { get; }
    public string ProjectPath => System.IO.Path.Combine(Directory, "backup.proj");
    public string CollectDir => Root + "collect/";
    public string WorkingDir => Root + "work/";
    public string StagingDir => Root + "staging/";

    /// <summary>Extra environment of the child `dotnet msbuild` (credentials that must not be properties).</summary>
    public Dictionary<string, string?> Environment { get; } = new();

    /// <summary>Extra command-line switches of the child `dotnet msbuild`, e.g. "-bl:run.binlog".</summary>
    public List<string> Switches { get; } = new();

    /// <summary>
    /// False (the default): before the first run the folder gets a Directory.Build.rsp naming the test build's run logger,
    /// as if an earlier run had registered it, so every run of a test is logged. True: a fresh folder, where the first run
    /// registers the logger itself (the real path, RegisterRunLogger) and only the runs after it are logged by it.
    /// </summary>
    public bool FreshFolder { get; set; }

    public string ResponseFile => System.IO.Path.Combine(Directory, "Directory.Build.rsp");

    /// <summary>The binary logs the run logger keeps (BackupBinaryLogDir's default, when BackupLogFile is left alone).</summary>
    public string BinaryLogDir => System.IO.Path.Combine(Directory, "logs/backupbuild-binlogs/");

    /// <summary>The umask the child `dotnet msbuild` starts with ("022"), set by /bin/sh; null: the one the test process has.</summary>
    public string? Umask { get; set; }

    /// <summary>true: `dotnet msbuild` runs in a session and process group of its own (through setsid), as a terminal's job does.</summary>
    public bool OwnSession { get; set; }

    /// <summary>A program that runs `dotnet msbuild` with its own arguments first (e.g. strace -f -o FILE); not with Umask or OwnSession.</summary>
    public string[]? Tracer { get; set; }

    private string Program => Tracer is [var tracer, ..] ? tracer : OwnSession ? "setsid" : Umask == null ? "dotnet" : "/bin/sh";

    public BackupProject Property(string name, string value)
    {
        _properties.Add($"    <{name}>{SecurityElement.Escape(value)}</{name}>");
        return this;
    }

    /// <summary>Adds an item, e.g. Item("CollectDirectory", "/srv/x", ("CollectMode", "incr")).</summary>
    public BackupProject Item(string type, string include, params (string Name, string Value)[] metadata)
    {
        var attrs = string.Concat(metadata.Select(m => $" {m.Name}=\"{SecurityElement.Escape(m.Value)}\""));
        _items.Add($"    <{type} Include=\"{SecurityElement.Escape(include)}\"{attrs} />");
        return this;
    }

    /// <summary>
    /// Empties the collect dir as a pool of one's Purge does after its Stage: every file but the master's cback.stage,
    /// which tells the next Collect that the previous one was staged (else it carries, BKP2200/BKP2201).
    /// </summary>
    public void PurgeStagedCollectDir()
    {
        if (!System.IO.Directory.Exists(CollectDir)) return;
        foreach (var f in System.IO.Directory.GetFiles(CollectDir).Where(f => System.IO.Path.GetFileName(f) != "cback.stage"))
            File.Delete(f);
    }

    public BackupProject Raw(string xml)
    {
        _items.Add(xml);
        return this;
    }

    /// <summary>Adds XML after the targets import (a test's own targets, hooked in with AfterTargets).</summary>
    public BackupProject Targets(string xml)
    {
        _targets.Add(xml);
        return this;
    }

    private readonly List<string> _targets = new();

    public void Write()
    {
        var xml = $"""
            <Project DefaultTargets="Build">
              <PropertyGroup>
                <BackupRoot>{Root}</BackupRoot>
                <BackupSkipTaskBuild>true</BackupSkipTaskBuild>
                <BackupTasksAssembly>{Repo.TasksAssembly}</BackupTasksAssembly>
                <BackupRunLoggerAssembly>{Repo.LoggerAssembly}</BackupRunLoggerAssembly>
            {string.Join("\n", _properties)}
              </PropertyGroup>
              <Import Project="{Repo.Targets}/BackupBuild.props" />
              <ItemGroup>
            {string.Join("\n", _items)}
              </ItemGroup>
              <Import Project="{Repo.Targets}/BackupBuild.targets" />
            {string.Join("\n", _targets)}
            </Project>
            """;
        // 644 whatever the process's umask: tasks that run in this test process set umask 077 while they run (as in a
        // build), and a project written meanwhile by a parallel test was unreadable to a request user's run (MSB4025).
        var readable = (UnixFileMode)Convert.ToInt32("644", 8);
        File.WriteAllText(ProjectPath, xml);
        File.SetUnixFileMode(ProjectPath, readable);
        if (!FreshFolder && !File.Exists(ResponseFile))
        {
            File.WriteAllText(ResponseFile, BackupBuild.Tasks.Deploy.RegisterRunLogger.Header + "\n"
                + $"\"-logger:BackupBuild.Logging.RunLogger,{Repo.LoggerAssembly};Project=backup.proj;BinaryLogs=%MSBuildThisFileDirectory%.backupbuild/;Keep=10\"\n");
            File.SetUnixFileMode(ResponseFile, readable);
        }
    }

    /// <summary>Runs `dotnet msbuild backup.proj -t:targets` with extra -p: properties.</summary>
    public Tool.Result Run(string targets, params string[] properties)
    {
        var (args, env) = CommandLine(targets, properties);
        return Tool.RunWith(Directory, env, TimeSpan.FromMinutes(10), Program, args.ToArray());
    }

    /// <summary>
    /// Starts `dotnet msbuild` like <see cref="Run"/> without waiting, its output drained into
    /// <paramref name="output"/>: for tests that kill it (Process.Kill(entireProcessTree: true) sends SIGKILL).
    /// </summary>
    public System.Diagnostics.Process Start(System.Text.StringBuilder output, string targets, params string[] properties)
    {
        var (args, env) = CommandLine(targets, properties);
        var info = new System.Diagnostics.ProcessStartInfo(Program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Directory,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env)
        {
            if (v == null) info.Environment.Remove(k); else info.Environment[k] = v;
        }
        var p = new System.Diagnostics.Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private (List<string> Args, Dictionary<string, string?> Env) CommandLine(string targets, string[] properties)
    {
        Tier.RequireFull("dotnet msbuild " + targets);
        Write();
        var args = new List<string> { "msbuild", ProjectPath, "-t:" + targets, "-nologo", "-nodeReuse:false", "-tl:off", "-v:n" };
        args.AddRange(properties.Select(p => "-p:" + p));
        args.AddRange(Switches);
        if (Umask != null) args.InsertRange(0, new[] { "-c", $"umask {Umask} && exec dotnet \"$@\"", "sh" });
        // env --default-signal=INT: a test host started in the background (a CI runner, `./test.sh &`) inherits SIGINT
        // ignored, and so would dotnet msbuild; a terminal's Ctrl+C reaches a run whose SIGINT is not ignored.
        if (Tracer != null) args.InsertRange(0, Tracer.Skip(1).Append("dotnet"));
        if (OwnSession) args.InsertRange(0, new[] { "-w", "--", "env", "--default-signal=INT", Umask == null ? "dotnet" : "/bin/sh" });
        var env = new Dictionary<string, string?>
        {
            // The test host may carry these; a child dotnet msbuild must find its own MSBuild.
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
        foreach (var (k, v) in Environment) env[k] = v;
        return (args, env);
    }
}
