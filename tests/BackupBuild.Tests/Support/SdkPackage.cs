namespace BackupBuild.Tests.Support;

/// <summary>
/// BackupBuild.Sdk packed for real (`dotnet pack sdk`) from a copy of this checkout's sdk/, targets/ and tasks/ into a
/// folder feed of its own, with a version no other run uses; packed once per test run, removed when the run ends.
/// Site repositories restore it into a NUGET_PACKAGES folder of their own (<see cref="Environment"/>), so neither the
/// machine's package cache nor a package of an earlier run is ever used.
/// </summary>
public sealed class SdkPackage
{
    private static readonly Lazy<SdkPackage> SharedPackage = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    private SdkPackage(string root, string feed, string version)
    {
        Root = root;
        Feed = feed;
        Version = version;
    }

    public static SdkPackage Shared => SharedPackage.Value;

    private string Root { get; }

    /// <summary>The folder feed holding BackupBuild.Sdk.{Version}.nupkg and nothing else.</summary>
    public string Feed { get; }

    public string Version { get; }

    public string Nupkg => Path.Combine(Feed, $"BackupBuild.Sdk.{Version}.nupkg");

    /// <summary>A nuget.config naming only the feed.</summary>
    public string NuGetConfig => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="backupbuild" value="{Feed}" />
          </packageSources>
        </configuration>
        """;

    /// <summary>The environment of a child `dotnet msbuild` on a site repository: its own package folder, no node reuse.</summary>
    public static Dictionary<string, string?> Environment(string nugetPackages) => new()
    {
        ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
        ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1",
        ["NUGET_PACKAGES"] = nugetPackages,
    };

    private static SdkPackage Pack()
    {
        var root = Path.Combine(Path.GetTempPath(), "bkp-sdk-" + Guid.NewGuid().ToString("N")[..10]);
        var source = Path.Combine(root, "src");
        var feed = Path.Combine(root, "feed");
        Directory.CreateDirectory(feed);
        foreach (var folder in new[] { "sdk", "targets", "tasks", "logger", "tools", "deploy" })
            Copy(Path.Combine(Repo.Root, folder), Path.Combine(source, folder));
        var version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + Guid.NewGuid().ToString("N")[..8];
        var env = Environment(Path.Combine(root, "pack-packages"));
        // Packing restores the task library's dependencies from NuGet; the machine's cache holds the same immutable packages.
        env.Remove("NUGET_PACKAGES");
        var r = Tool.RunWith(source, env, TimeSpan.FromMinutes(20), "dotnet", "pack", Path.Combine(source, "sdk"),
            "-o", feed, "-p:Version=" + version, "-nologo", "-nodeReuse:false", "-tl:off", "-v:m");
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException("dotnet pack sdk failed:\n" + r.All);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        var package = new SdkPackage(root, feed, version);
        if (!File.Exists(package.Nupkg)) throw new Xunit.Sdk.XunitException("dotnet pack wrote no " + package.Nupkg + ":\n" + r.All);
        return package;
    }

    /// <summary>Copies a source folder without its build output (bin/, obj/).</summary>
    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from))
        {
            var name = Path.GetFileName(dir);
            if (name is "bin" or "obj") continue;
            Copy(dir, Path.Combine(to, name));
        }
    }
}

/// <summary>
/// A site's configuration repository in a temporary folder, as docs/deploy.md describes it: backup.proj on
/// BackupBuild.Sdk, peers/*.props and a nuget.config naming the feed; no BackupBuild checkout anywhere near it.
/// </summary>
public sealed class SiteRepository
{
    public SiteRepository(string directory, SdkPackage package)
    {
        Directory = directory;
        Package = package;
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "nuget.config"), package.NuGetConfig);
    }

    public string Directory { get; }
    public SdkPackage Package { get; }
    public string ProjectPath => Path.Combine(Directory, "backup.proj");

    /// <summary>This repository's own package folder (NUGET_PACKAGES): where the SDK is restored to.</summary>
    public string Packages => Directory.TrimEnd('/') + ".packages";

    public void Project(string body) => File.WriteAllText(ProjectPath, $"""
        <Project Sdk="BackupBuild.Sdk/{Package.Version}">
        {body}
        </Project>
        """);

    public void Peer(string name, string xml)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "peers"));
        File.WriteAllText(Path.Combine(Directory, "peers", name + ".props"), $"<Project>\n{xml}\n</Project>\n");
    }

    /// <summary>`dotnet msbuild backup.proj` with the given switches (-t:, -p:, -getProperty: …), in the repository.</summary>
    public Tool.Result Run(params string[] switches) =>
        Tool.RunWith(Directory, SdkPackage.Environment(Packages), TimeSpan.FromMinutes(10), "dotnet",
            new[] { "msbuild", ProjectPath, "-nologo", "-nodeReuse:false", "-tl:off", "-v:n" }.Concat(switches).ToArray());
}
