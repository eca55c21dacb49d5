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

    private (string Stamp, CollectPlanCache Plan) Compute(CollectConfiguration config)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s) => hash.AppendData(Encoding.UTF8.GetBytes(s + "\n"));

        Add("collect-stamp 1");
        Add(config.Clock.Today.ToString("yyyy-MM-dd"));
        Add($"start-of-week={config.Clock.IsStartOfWeek} full={config.Full} rehash={config.RehashAll} level={config.Level}");
        Add(config.CollectDir);
        foreach (var s in config.Sources) Add(s.Fingerprint);
        var unreadable = new List<(string Path, string Kind, int Errno)>();
        var jobs = CollectJob.Plan(config, (path, kind, errno) => unreadable.Add((path, kind, errno)), Cancellation);
        foreach (var job in jobs)
        {
            Add("job " + job.Path);
            foreach (var e in job.Entries)
            {
                var st = e.Stat;
                Add($"{e.Path}\0{st.Mode}\0{st.Size}\0{st.MtimeSeconds}.{st.MtimeNanos}\0{st.CtimeSeconds}.{st.CtimeNanos}\0{st.Inode}");
            }
        }
        foreach (var u in unreadable) Add($"unreadable {u.Kind}:{u.Path}:{u.Errno}");
        var stamp = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant() + "\n";
        return (stamp, new CollectPlanCache(jobs, unreadable));
    }
}
