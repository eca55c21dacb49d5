using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The cheap, always-run half of Collect's skip-up-to-date logic. MSBuild compares timestamps
/// only, which misses deleted files and back-dated ones, so this task walks what Collect would
/// read (one lstat per file: path, type, mode, size, mtime, ctime, inode), adds the run day and
/// the configuration, and rewrites the stamp file only when that changed. The Collect target
/// uses the stamp as its input and cback.collect as its output.
/// </summary>
public sealed class ComputeCollectStamp : CollectTaskBase, IIncrementalTask
{
    /// <summary>Set by MSBuild under -question: report whether Collect would run instead of writing the stamp.</summary>
    public bool FailIfNotIncremental { get; set; }

    /// <summary>The stamp file (in the working dir).</summary>
    [Required] public string? StampFile { get; set; }

    /// <summary>True when the stamp changed, i.e. Collect has work to do.</summary>
    [Output] public bool Changed { get; private set; }

    protected override bool Run()
    {
        var config = LoadConfiguration();
        if (config == null) return false;

        var folder = Path.GetDirectoryName(Path.GetFullPath(StampFile!))!;
        PrivateFiles.CreateRoot(folder);
        var indicator = Path.Combine(config.CollectDir, Indicators.Collect);
        // The target's Outputs: collect.done beside the stamp, touched after every successful collect.
        var done = Path.ChangeExtension(Path.GetFullPath(StampFile!), ".done");
        var doneTime = File.Exists(done) ? File.GetLastWriteTimeUtc(done) : (DateTime?)null;
        // The collect dir still holds that collect, or Stage took it since (cback.stage newer) and Purge emptied the folder.
        var staged = Path.Combine(config.CollectDir, Indicators.Stage);
        var kept = File.Exists(indicator)
            || (doneTime != null && File.Exists(staged) && File.GetLastWriteTimeUtc(staged) >= doneTime);
        if (!FailIfNotIncremental && (!kept || doneTime == null || !File.Exists(StampFile) || doneTime < File.GetLastWriteTimeUtc(StampFile!)))
        {
            // Collect runs whatever the walk finds (the last one did not finish, or its archives are gone): it walks the
            // tree itself as it archives and writes the stamp of that walk (CollectArchives), so compression need not wait.
            Changed = true;
            AtomicFile.WriteAllBytes(StampFile!, Encoding.ASCII.GetBytes(CollectPlanCache.WalkedByCollect));
            return true;
        }
        var (stamp, plan) = Compute(config, folder);
        var existing = File.Exists(StampFile) ? File.ReadAllText(StampFile!) : null;
        Changed = existing != stamp;
        var finished = !Changed && doneTime >= File.GetLastWriteTimeUtc(StampFile!);
        var upToDate = finished && kept;
        if (upToDate)
        {
            // Collect will not run: the spool is not needed.
            plan.Spool?.Dispose();
            Progress("Collect.UpToDate", config.Clock.Today.ToString("yyyy-MM-dd"), File.Exists(indicator) ? indicator : staged);
            return true;
        }
        if (FailIfNotIncremental)
        {
            plan.Spool?.Dispose();
            Log.LogErrorWithCodeFromResources("Incremental.WouldRun", "Collect",
                Format(Changed ? "Incremental.WhyCollectChanged" : !kept ? "Incremental.WhyCollectGone" : "Incremental.WhyNotFinished"));
            return false;
        }
        // Rewritten when it changed, and touched when the last collect did not finish or is gone: newer than collect.done, so Collect runs.
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(StampFile!))!);
        AtomicFile.WriteAllBytes(StampFile!, Encoding.ASCII.GetBytes(stamp));
        // Collect runs right after in the same build: hand it the walk instead of walking twice.
        BuildEngine4?.RegisterTaskObject(CollectPlanCache.Key(stamp), plan, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: true);
        return true;
    }

    // Binary, not formatted text: this runs for every file on every run.
    // Runs once per file: compiled optimized at once (the ReadyToRun image's code cannot inline CoreLib's helpers).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void AddEntry(BatchedHash hash, in WalkEntry e)
    {
        Span<byte> buffer = stackalloc byte[1024];
        var st = e.Stat;
        var path = e.PathBytes;
        var b = path.Length + 64 <= buffer.Length ? buffer : new byte[path.Length + 64];
        path.CopyTo(b);
        var n = path.Length;
        var aligned = (n + 8) & ~7;
        b[n..aligned].Clear();
        var fields = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(b.Slice(aligned, 56));
        fields[0] = st.Mode; fields[1] = st.Size; fields[2] = st.MtimeSeconds; fields[3] = st.MtimeNanos;
        fields[4] = st.CtimeSeconds; fields[5] = st.CtimeNanos; fields[6] = (long)st.Inode;
        hash.Append(b[..(aligned + 56)]);
    }

    /// <summary>
    /// Feeds the hash in blocks of 64 KiB instead of one call into the crypto library per file: the same bytes in the
    /// same order, so the same stamp.
    /// </summary>
    internal sealed class BatchedHash(IncrementalHash hash)
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _length;

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_length + data.Length > _buffer.Length) Flush();
            if (data.Length > _buffer.Length)
            {
                hash.AppendData(data);
                return;
            }
            data.CopyTo(_buffer.AsSpan(_length));
            _length += data.Length;
        }

        public byte[] Finish()
        {
            Flush();
            return hash.GetHashAndReset();
        }

        private void Flush()
        {
            if (_length == 0) return;
            hash.AppendData(_buffer, 0, _length);
            _length = 0;
        }
    }

    private (string Stamp, CollectPlanCache Plan) Compute(CollectConfiguration config, string spoolFolder)
    {
        // The same lines CollectArchives hashes when it walks for the stamp itself (CollectStampWalk).
        using var stampWalk = new CollectStampWalk(config);
        var jobs = CollectJob.Plan(config, stampWalk.Unreadable, Cancellation);
        using var spool = new WalkSpoolWriter(spoolFolder);
        foreach (var job in jobs)
        {
            stampWalk.Job(job.Path);
            job.Walk(e =>
            {
                stampWalk.Entry(e);
                spool.Add(e);
            }, stampWalk.Unreadable, Cancellation);
            spool.EndJob();
        }
        var stamp = stampWalk.Finish();
        return (stamp, new CollectPlanCache(jobs, stampWalk.Unreadables, spool.Finish()));
    }

    // The stamp's lines, hashed by CollectStampWalk for this task and for CollectArchives.
    internal static void AddLine(BatchedHash hash, string s) => hash.Append(PosixPath.Encode(s + "\n"));

    internal static void AddHeader(BatchedHash hash, CollectConfiguration config)
    {
        AddLine(hash, "collect-stamp 2");
        AddLine(hash, config.Clock.Today.ToString("yyyy-MM-dd"));
        AddLine(hash, $"start-of-week={config.Clock.IsStartOfWeek} full={config.Full} rehash={config.RehashAll} level={config.Level} carry={config.CarryUnstaged}");
        AddLine(hash, config.CollectDir);
        foreach (var s in config.Sources) AddLine(hash, s.Fingerprint);
    }
}
