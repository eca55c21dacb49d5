using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Extensions.Repositories;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Mbox;

/// <summary>
/// Cedar Backup's mbox extension: the messages of each MboxFile, and of each file directly in an
/// MboxDirectory, extracted with `grepmail -a -u [-d "since DATE"]` into CollectDir as
/// mbox-YYYYMMDD-&lt;normalized path&gt;[.gz|.bz2] (files) or a flat tar of per-file extracts named
/// mbox-YYYYMMDD-&lt;normalized folder&gt;.tar[.gz|.bz2] (folders). Incremental items take only the
/// messages dated since the previous run, kept in WorkingDir/&lt;normalized path&gt;.mboxlast.
/// </summary>
public sealed class BackupMbox : ModuleTaskBase
{
    protected override Settings.ModuleGroup Group => Settings.ModuleGroup.Mbox;
    protected override string[] ProgramNames => ["GrepmailPath"];
    private static readonly string[] FileMetadata = { "CollectMode", "CompressMode" };
    private static readonly string[] DirectoryMetadata = { "CollectMode", "CompressMode", "ExcludeFiles", "ExcludePatterns" };
    private const string StateFormat = "yyyy-MM-ddTHH:mm:ss";

    /// <summary>MboxFile items: absolute paths of mbox files.</summary>
    public ITaskItem[]? MboxFiles { get; set; }
    /// <summary>MboxDirectory items: absolute paths of folders whose files are mbox files (not recursive).</summary>
    public ITaskItem[]? MboxDirectories { get; set; }

    /// <summary>The files written by this run.</summary>
    [Output] public ITaskItem[]? Extracts { get; private set; }

    private sealed record Mailbox(string Path, bool IsDirectory, ModuleCollectMode Mode, DumpCompression Compression,
        string[] ExcludeFiles, Regex[] ExcludePatterns)
    {
        public string Normalized => NormalizedPath.From(Path);
        public string StateFile => Normalized + ".mboxlast";
        public string Kind => IsDirectory ? "MboxDirectory" : "MboxFile";
    }

    internal override void Check(Problems problems) => Load(problems);

    protected override bool Run()
    {
        var written = BackEach(Load, m => m.Path, Back);
        if (written == null) return false;
        Extracts = written;
        return !Log.HasLoggedErrors;
    }

    private List<Mailbox> Load(Problems problems)
    {
        var result = new List<Mailbox>();
        if (!LoadCommon(problems, "MboxFile")) return result;
        foreach (var (items, isDirectory) in new[] { (MboxFiles, false), (MboxDirectories, true) })
            foreach (var item in ModuleSettings.Of(items))
            {
                var kind = isDirectory ? "MboxDirectory" : "MboxFile";
                Values.UnknownMetadata(item, kind, problems, isDirectory ? DirectoryMetadata : FileMetadata);
                var path = Values.AbsolutePath(item.ItemSpec, kind, problems);
                var mode = ModuleSettings.CollectMode(Own(item, kind, "CollectMode", problems), kind, item.ItemSpec, problems, DefaultMode);
                var compression = ModuleSettings.Compression(Own(item, kind, "CompressMode", problems), kind, item.ItemSpec, problems, DefaultCompression);
                var patterns = new List<Regex>();
                foreach (var pattern in Values.List(item.GetMetadata("ExcludePatterns")))
                {
                    try { patterns.Add(new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant)); }
                    catch (ArgumentException e) { problems.Error("Repos.MboxBadPattern", item.ItemSpec, pattern, e.Message); }
                }
                if (path == null || mode == null || compression == null) continue;
                if (result.Any(m => m.Path == path)) problems.Error("Repos.MboxDuplicate", path);
                else result.Add(new Mailbox(path, isDirectory, mode.Value, compression.Value, Values.List(item.GetMetadata("ExcludeFiles")), patterns.ToArray()));
            }
        return result;
    }

    private string? Back(Mailbox m)
    {
        if (!ModuleSettings.CollectsToday(m.Mode, IsFull, Clock))
        {
            Detail("Repos.MboxNotToday", m.Kind, m.Path);
            return null;
        }
        if (m.IsDirectory ? !Directory.Exists(m.Path) : !File.Exists(m.Path)) throw new CodedError("Repos.MboxMissing", m.Kind, m.Path);
        var since = Since(m);
        var day = Clock.Today.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        string target;
        if (m.IsDirectory)
        {
            target = Path.Combine(CollectRoot, $"mbox-{day}-{m.Normalized}.tar{ModuleSettings.Suffix(m.Compression)}");
            var files = MailFiles(m);
            WriteFolder(m, files, target, day, since);
            Progress("Repos.MboxFolderDone", m.Path, files.Count, target, SinceText(since));
        }
        else
        {
            target = Path.Combine(CollectRoot, $"mbox-{day}-{m.Normalized}{ModuleSettings.Suffix(m.Compression)}");
            Extract(m.Path, target, m.Compression, since);
            Progress("Repos.MboxFileDone", m.Path, target, SinceText(since));
        }
        if (m.Mode == ModuleCollectMode.Incr) WriteState(m.StateFile, Clock.Now.ToString(StateFormat, CultureInfo.InvariantCulture));
        return target;
    }

    /// <summary>The date messages must be newer than, or null for all messages.</summary>
    private DateTime? Since(Mailbox m)
    {
        if (IsFull || Clock.IsStartOfWeek || m.Mode != ModuleCollectMode.Incr) return null;
        var text = ReadState(m.StateFile);
        if (text == null) return null;
        if (DateTime.TryParseExact(text, StateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var since)) return since;
        Log.LogWarningWithCodeFromResources("Repos.MboxBadState", Path.Combine(WorkingRoot, m.StateFile), text);
        return null;
    }

    private static string SinceText(DateTime? since) =>
        since == null ? "all messages" : "messages since " + since.Value.ToString(StateFormat, CultureInfo.InvariantCulture);

    private void Extract(string mbox, string target, DumpCompression compression, DateTime? since)
    {
        var args = new List<string> { "-a", "-u" };
        if (since != null) args.AddRange(new[] { "-d", "since " + since.Value.ToString(StateFormat, CultureInfo.InvariantCulture) });
        // The mailbox is opened here (not following a link) and given to grepmail on its standard input, never by
        // name: grepmail opens named files with Perl's two-argument open and hands compressed ones to a shell, so a
        // mail file named "x;cmd|" or "x$(cmd)" in a MboxDirectory would run cmd as the backup's user.
        using var input = OpenMailbox(mbox);
        // grepmail exits 1 when no message matched: an empty extract, not a failure.
        var outcome = ProgramOutput.ToFile(target, compression, Program("GrepmailPath"), args, Timeout, Cancellation, code => code is 0 or 1,
            input);
        if (outcome.TimedOut) throw new CodedError("Repos.MboxTimeout", mbox, (int)Timeout.TotalSeconds);
        if (outcome.ExitCode is not (0 or 1)) throw new CodedError("Repos.MboxFailed", mbox, outcome.ExitCode, ProgramOutput.Summary(outcome.Error));
    }

    /// <summary>The mailbox opened for reading without following a symbolic link; a coded error when it is not a regular file.</summary>
    private static FileStream OpenMailbox(string mbox)
    {
        var handle = Posix.OpenRead(mbox, out var errno) ?? throw new CodedError("Mbox.NotRegular", mbox, Posix.ErrorText(errno));
        if (Posix.FStat(handle, out errno) is not { IsRegular: true })
        {
            handle.Dispose();
            throw new CodedError("Mbox.NotRegular", mbox, errno != 0 ? Posix.ErrorText(errno) : "not a regular file");
        }
        return new FileStream(handle, FileAccess.Read, 1 << 16);
    }

    /// <summary>The regular files directly in the folder, minus ExcludeFiles (names) and ExcludePatterns (whole paths).</summary>
    private static List<string> MailFiles(Mailbox m) =>
        Directory.EnumerateFiles(m.Path)
            .Where(f => Posix.LStat(f, out _) is { IsRegular: true })
            .Where(f => !m.ExcludeFiles.Contains(Path.GetFileName(f)) && !m.ExcludePatterns.Any(p => p.IsMatch(f)))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Extracts each file into a temporary folder, then tars the extracts flat into the target, atomically.</summary>
    private void WriteFolder(Mailbox m, List<string> files, string target, string day, DateTime? since)
    {
        var temp = AtomicFile.TempDirectoryFor(Path.Combine(WorkingRoot, "mbox"));
        Directory.CreateDirectory(temp);
        try
        {
            var extracts = new List<string>();
            foreach (var file in files)
            {
                var extract = Path.Combine(temp, $"mbox-{day}-{NormalizedPath.From(file)}");
                Extract(file, extract, DumpCompression.None, since);
                extracts.Add(extract);
            }
            AtomicFile.Write(target, stream =>
            {
                using var tar = new TarArchiveWriter(stream, ModuleSettings.TarFormat(m.Compression), CompressionLevel.SmallestSize, 1);
                foreach (var extract in extracts)
                {
                    var stat = Posix.LStat(extract, out var errno) ?? throw new IOException(Posix.ErrorText(errno));
                    using var content = File.OpenRead(extract);
                    tar.AddFile(Path.GetFileName(extract), stat, content, cancel: Cancellation);
                }
                tar.Finish();
            });
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
        }
    }
}
