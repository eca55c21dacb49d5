using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Import;

/// <summary>
/// Reads a Cedar Backup 3 cback3.conf, validates it by Cedar's rules and writes an equivalent site repository:
/// backup.proj (on BackupBuild.Sdk), peers/*.props and nuget.config. Existing files are never replaced unless Overwrite is set; all
/// problems are reported before anything is written, and each file appears complete or not at all.
/// </summary>
public sealed class ImportCedarConfig : BackupTask
{
    /// <summary>The cback3.conf to import.</summary>
    public string CedarConfig { get; set; } = "";

    /// <summary>Where backup.proj and peers/ are written.</summary>
    [Required]
    public string OutputDir { get; set; } = "";

    /// <summary>true: replace files a previous import wrote.</summary>
    public bool Overwrite { get; set; }

    /// <summary>The BackupBuild.Sdk version the generated backup.proj names (<c>Sdk="BackupBuild.Sdk/x.y.z"</c>).</summary>
    public string SdkVersion { get; set; } = "";

    /// <summary>
    /// The package source written into the generated nuget.config: an absolute folder (a folder feed) or an http(s)
    /// NuGet server. Empty: the nuget.config beside the project that runs the import is copied.
    /// </summary>
    public string Feed { get; set; } = "";

    /// <summary>The folder of the project that runs the import (where its own nuget.config is looked for).</summary>
    public string ProjectDirectory { get; set; } = "";

    /// <summary>This machine's name in the pool; default: the local peer whose collect dir is the collect section's, else the host's name.</summary>
    public string PeerName { get; set; } = "";

    [Output]
    public ITaskItem[] WrittenFiles { get; private set; } = Array.Empty<ITaskItem>();

    protected override bool Run()
    {
        var problems = new Problems();
        if (string.IsNullOrWhiteSpace(CedarConfig))
        {
            Log.LogErrorWithCodeFromResources("Import.NoConfigParam");
            return false;
        }
        var source = Path.GetFullPath(CedarConfig);
        var document = CedarXml.Load(source, problems);
        CedarConfig? config = null;
        if (document != null) config = Import.CedarConfig.Read(document, problems);
        if (problems.HasErrors || config == null)
        {
            problems.LogTo(Log);
            return false;
        }

        var host = Environment.MachineName.Split('.')[0].ToLowerInvariant();
        var writer = new CedarProjectWriter(config, problems);
        var version = SdkVersion.Trim();
        if (!SiteRepository.IsVersion(version)) problems.Error("Import.SdkVersion", SdkVersion);
        var nugetConfig = SiteRepository.NuGetConfig(Feed, ProjectDirectory, problems);
        writer.Build(source, version, string.IsNullOrWhiteSpace(PeerName) ? null : PeerName.Trim(), host);
        if (nugetConfig != null) writer.Files[SiteRepository.NuGetConfigName] = nugetConfig;
        writer.Files[".gitignore"] = SiteRepository.GitIgnore;

        var output = Path.GetFullPath(OutputDir);
        foreach (var relative in writer.Files.Keys)
        {
            var target = Path.Combine(output, relative);
            if (!Overwrite && (File.Exists(target) || Directory.Exists(target)))
                problems.Error("Import.Exists", target);
        }
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        var written = new List<ITaskItem>();
        foreach (var (relative, text) in writer.Files)
        {
            var target = Path.Combine(output, relative);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                AtomicFile.WriteAllBytes(target, new System.Text.UTF8Encoding(false).GetBytes(text));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogErrorWithCodeFromResources("Import.WriteFailed", target, e.Message);
                return false;
            }
            written.Add(new Microsoft.Build.Utilities.TaskItem(target));
        }
        WrittenFiles = written.ToArray();
        Log.LogMessageFromResources(MessageImportance.High, "Import.Done", source, output, written.Count,
            problems.All.Count(p => p.IsWarning), writer.ThisPeer);
        return true;
    }
}
