using System.Globalization;
using BackupBuild.Tasks.Extensions.Staged;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Split;

/// <summary>
/// Cedar's split extension: in every staged day, each file strictly larger than the size limit becomes FILE_00000,
/// FILE_00001… of the split size (what `split --numeric-suffixes --suffix-length=5 --bytes=N FILE FILE_` writes);
/// the original is removed once every piece is complete and flushed, and cback.split is written last.
/// </summary>
public sealed class SplitStagedDays : StagedDayTask
{
    public const string Indicator = "cback.split";
    private const int MaxPieces = 100_000; // five-digit suffixes

    /// <summary>@(BackupSplitSettings): files strictly larger than SplitSizeLimit become pieces of SplitSize (Settings/SplitSettings).</summary>
    public Microsoft.Build.Framework.ITaskItem? SplitSettings { get; set; }

    private long _limit, _size;

    protected override void Configure(Problems problems)
    {
        if (Settings.SplitSettings.Parse(SplitSettings, problems) is { } s) (_limit, _size) = (s.SizeLimit, s.SplitSize);
    }

    protected override void ProcessDay(string dayDir)
    {
        var done = ProcessedFiles.Read(dayDir, Indicator);
        if (!done.Ours)
        {
            Trace("Split.ForeignIndicator", dayDir);
            return;
        }
        bool IsPiece(string f) => f.Length > 6 && done.Contains(f[..^6]) && StagedDayFolders.IsPieceOf(f, f[..^6]);
        var todo = StagedDayFolders.Files(dayDir).Where(f => !IsPiece(f))
            .Select(f => (Relative: f, Info: new FileInfo(Path.Combine(dayDir, f)))).Where(f => f.Info.Length > _limit).ToList();
        if (done.Exists && todo.Count == 0) return;

        int split = 0, again = 0, pieces = 0, failed = 0;
        foreach (var (relative, info) in todo)
        {
            Cancellation.ThrowIfCancellationRequested();
            if (done.Matches(relative, info) && StagedDayFolders.PiecesOf(info.FullName).Any())
            {
                File.Delete(info.FullName); // staged again unchanged: its pieces are already here
                again++;
                continue;
            }
            var count = (int)Math.Min(int.MaxValue, (info.Length + _size - 1) / _size);
            if (count > MaxPieces)
            {
                Log.LogErrorWithCodeFromResources("Split.TooManyPieces", info.FullName, Units.Bytes(info.Length), count, MaxPieces);
                failed++;
                continue;
            }
            SplitOne(info, count);
            done.Record(relative, info.Length, info.LastWriteTimeUtc);
            File.Delete(info.FullName);
            done.WriteProgress(dayDir, Indicator);
            split++;
            pieces += count;
        }
        if (failed > 0)
        {
            Log.LogErrorWithCodeFromResources("Extensions.DayIncomplete", "split", dayDir, failed, Indicator);
            return;
        }
        done.Complete(dayDir, Indicator);
        Progress("Split.Done", dayDir, split, pieces, Units.Bytes(_size), again, Units.Bytes(_limit));
    }

    /// <summary>Writes every piece under a temporary name, flushed; then they replace any older pieces at once.</summary>
    private void SplitOne(FileInfo file, int count)
    {
        var finals = Enumerable.Range(0, count).Select(i => file.FullName + "_" + i.ToString("D5", CultureInfo.InvariantCulture)).ToList();
        var temps = finals.Select(AtomicFile.TempPathFor).ToList();
        try
        {
            using (var source = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan))
            {
                var buffer = new byte[1 << 20];
                for (var i = 0; i < count; i++)
                {
                    using var piece = new FileStream(temps[i], FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    var left = Math.Min(_size, file.Length - (long)i * _size);
                    while (left > 0)
                    {
                        Cancellation.ThrowIfCancellationRequested();
                        var n = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                        if (n == 0) throw new IOException($"{file.FullName} became shorter while it was split");
                        piece.Write(buffer, 0, n);
                        left -= n;
                    }
                    piece.Flush(flushToDisk: true);
                    StagedDayFolders.CopyMode(file.FullName, temps[i]);
                }
            }
            foreach (var old in StagedDayFolders.PiecesOf(file.FullName).Except(finals)) File.Delete(old);
            for (var i = 0; i < count; i++) File.Move(temps[i], finals[i], overwrite: true);
        }
        finally
        {
            foreach (var t in temps.Where(File.Exists)) File.Delete(t);
        }
    }
}
