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
public sealed class ComputeCollectStamp : CollectTaskBase
{
    /// <summary>The stamp file (in the working dir).</summary>
    [Required] public string? StampFile { get; set; }

    /// <summary>True when the stamp changed, i.e. Collect has work to do.</summary>
    [Output] public bool Changed { get; private set; }

    protected override bool Run()
    {
        var config = LoadConfiguration();
        if (config == null) return false;

        var (stamp, plan) = Compute(config);
        // Collect runs right after in the same build: hand it the walk instead of walking twice.
        BuildEngine4?.RegisterTaskObject(CollectPlanCache.Key(stamp), plan, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: true);
        var existing = File.Exists(StampFile) ? File.ReadAllText(StampFile!) : null;
        Changed = existing != stamp;
        if (Changed)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(StampFile!))!);
            AtomicFile.WriteAllBytes(StampFile!, Encoding.ASCII.GetBytes(stamp));
            return true;
        }
        var indicator = Path.Combine(config.CollectDir, Indicators.Collect);
        if (File.Exists(indicator) && File.GetLastWriteTimeUtc(indicator) >= File.GetLastWriteTimeUtc(StampFile!))
            Progress("Collect.UpToDate", config.Clock.Today.ToString("yyyy-MM-dd"), indicator);
        return true;
    }

    // Binary, not formatted text: this runs for every file on every run.
    // Runs once per file: compile optimized at once instead of starting from unoptimized tier-0 code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void AddEntry(IncrementalHash hash, in WalkEntry e)
    {
        Span<byte> buffer = stackalloc byte[1024];
        var st = e.Stat;
        var pathBytes = Encoding.UTF8.GetByteCount(e.Path);
        var b = pathBytes + 64 <= buffer.Length ? buffer : new byte[pathBytes + 64];
        var n = Encoding.UTF8.GetBytes(e.Path, b);
        var aligned = (n + 8) & ~7;
        b[n..aligned].Clear();
        var fields = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(b.Slice(aligned, 56));
        fields[0] = st.Mode; fields[1] = st.Size; fields[2] = st.MtimeSeconds; fields[3] = st.MtimeNanos;
        fields[4] = st.CtimeSeconds; fields[5] = st.CtimeNanos; fields[6] = (long)st.Inode;
        hash.AppendData(b[..(aligned + 56)]);
    }

    private (string Stamp, CollectPlanCache Plan) Compute(CollectConfiguration config)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s) => hash.AppendData(Encoding.UTF8.GetBytes(s + "\n"));

        Add("collect-stamp 1");
        Add(config.Clock.Today.ToString("yyyy-MM-dd"));
        Add($"start-of-week={config.Clock.IsStartOfWeek} full={config.Full} rehash={config.RehashAll} level={config.Level}");
        Add(config.CollectDir);
        foreach (var s in config.Sources) Add(s.Fingerprint);
        var states = CollectPlanCache.Preload(config);
        var unreadable = new List<(string Path, string Kind, int Errno)>();
        var jobs = CollectJob.Plan(config, (path, kind, errno) => unreadable.Add((path, kind, errno)), Cancellation);
        foreach (var job in jobs)
        {
            Add("job " + job.Path);
            foreach (var e in job.Entries) AddEntry(hash, e);
        }
        foreach (var u in unreadable) Add($"unreadable {u.Kind}:{u.Path}:{u.Errno}");
        var stamp = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant() + "\n";
        return (stamp, new CollectPlanCache(jobs, unreadable, states));
    }
}
