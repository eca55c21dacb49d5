using System.Globalization;
using BackupBuild.Tasks.Extensions.Repositories;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Subversion;

/// <summary>
/// Cedar Backup's subversion extension: each SubversionRepository dumped with
/// `svnadmin dump --quiet -rS:E --incremental` into CollectDir as svndump-S:E-&lt;normalized path&gt;.txt[.gz|.bz2].
/// Full (S = 0) for daily and weekly items, at the start of the week and with Full; incr items start
/// after the last revision dumped, kept in WorkingDir/&lt;normalized path&gt;.svnlast.
/// </summary>
public sealed class BackupSubversion : ModuleTaskBase
{
    protected override Settings.ModuleGroup Group => Settings.ModuleGroup.Subversion;
    protected override string[] ProgramNames => ["SvnadminPath", "SvnlookPath"];
    private static readonly string[] Metadata = { "CollectMode", "CompressMode" };

    /// <summary>SubversionRepository items: absolute paths of repositories on this machine.</summary>
    public ITaskItem[]? Repositories { get; set; }

    /// <summary>The dump files written by this run.</summary>
    [Output] public ITaskItem[]? Dumps { get; private set; }

    private sealed record Repository(string Path, ModuleCollectMode Mode, DumpCompression Compression)
    {
        public string Normalized => NormalizedPath.From(Path);
        public string StateFile => Normalized + ".svnlast";
    }

    internal override void Check(Problems problems) => Load(problems);

    protected override bool Run()
    {
        var written = BackEach(Load, r => r.Path, Back);
        if (written == null) return false;
        Dumps = written;
        return !Log.HasLoggedErrors;
    }

    private List<Repository> Load(Problems problems)
    {
        var result = new List<Repository>();
        if (!LoadCommon(problems, "SubversionRepository")) return result;
        foreach (var item in ModuleSettings.Of(Repositories))
        {
            Values.UnknownMetadata(item, "SubversionRepository", problems, Metadata);
            var path = Values.AbsolutePath(item.ItemSpec, "SubversionRepository", problems);
            var mode = ModuleSettings.CollectMode(Own(item, "SubversionRepository", "CollectMode", problems), "SubversionRepository", item.ItemSpec, problems, DefaultMode);
            var compression = ModuleSettings.Compression(Own(item, "SubversionRepository", "CompressMode", problems), "SubversionRepository", item.ItemSpec, problems, DefaultCompression);
            if (path == null || mode == null || compression == null) continue;
            if (result.Any(r => r.Path == path)) problems.Error("Repos.SvnDuplicate", path);
            else result.Add(new Repository(path, mode.Value, compression.Value));
        }
        return result;
    }

    /// <summary>Dumps one repository; returns the dump's path, or null when nothing was due.</summary>
    private string? Back(Repository r)
    {
        if (!ModuleSettings.CollectsToday(r.Mode, IsFull, Clock))
        {
            Detail("Repos.SvnNotToday", r.Path);
            return null;
        }
        if (!Directory.Exists(r.Path)) throw new CodedError("Repos.SvnMissing", r.Path);
        var youngest = Youngest(r.Path);
        var full = IsFull || Clock.IsStartOfWeek || r.Mode != ModuleCollectMode.Incr;
        var start = full ? 0 : LastRevision(r) + 1;
        if (start > youngest)
        {
            Progress("Repos.SvnNothingNew", r.Path, youngest);
            return null;
        }
        var name = $"svndump-{start}:{youngest}-{r.Normalized}.txt{ModuleSettings.Suffix(r.Compression)}";
        var target = Path.Combine(CollectRoot, name);
        var args = new[] { "dump", "--quiet", $"-r{start}:{youngest}", "--incremental", r.Path };
        var outcome = ProgramOutput.ToFile(target, r.Compression, Program("SvnadminPath"), args, Timeout, Cancellation);
        if (outcome.TimedOut) throw new CodedError("Repos.SvnTimeout", r.Path, (int)Timeout.TotalSeconds);
        if (outcome.ExitCode != 0) throw new CodedError("Repos.SvnDumpFailed", r.Path, outcome.ExitCode, ProgramOutput.Summary(outcome.Error));
        if (r.Mode == ModuleCollectMode.Incr) WriteState(r.StateFile, youngest.ToString(CultureInfo.InvariantCulture));
        Progress("Repos.SvnDumped", r.Path, start, youngest, target);
        return target;
    }

    private long Youngest(string path)
    {
        var result = ProgramRunner.Run(Program("SvnlookPath"), new[] { "youngest", path }, Timeout, Cancellation, new ProgramOptions { CLocale = true });
        if (result.TimedOut) throw new CodedError("Repos.SvnTimeout", path, (int)Timeout.TotalSeconds);
        if (!result.Succeeded || !long.TryParse(result.Output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var youngest))
            throw new CodedError("Repos.SvnNotRepository", path, ProgramOutput.Summary(result.Error + result.Output));
        return youngest;
    }

    /// <summary>The last revision an earlier run dumped, or -1 (Cedar's value when there is no state).</summary>
    private long LastRevision(Repository r)
    {
        var text = ReadState(r.StateFile);
        if (text == null) return -1;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var last)) return last;
        Log.LogWarningWithCodeFromResources("Repos.SvnBadState", Path.Combine(WorkingRoot, r.StateFile), text);
        return -1;
    }
}
