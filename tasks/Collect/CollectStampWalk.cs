using System.Security.Cryptography;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The collect stamp hashed from a walk: by <see cref="ComputeCollectStamp"/>'s walk, or by CollectArchives' own when
/// ComputeCollectStamp knew before walking that Collect would run anyway and left the walk to it
/// (<see cref="CollectPlanCache.WalkedByCollect"/>): one sequence of lines, so the same stamp for the same tree.
/// </summary>
internal sealed class CollectStampWalk : IDisposable
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ComputeCollectStamp.BatchedHash _hash;
    private readonly List<(string Path, string Kind, int Errno)> _unreadable = [];

    /// <summary>The paths the walk could not read, in the order seen (hashed at <see cref="Finish"/>).</summary>
    public List<(string Path, string Kind, int Errno)> Unreadables => _unreadable;

    public CollectStampWalk(CollectConfiguration config)
    {
        _hash = new ComputeCollectStamp.BatchedHash(_sha);
        ComputeCollectStamp.AddHeader(_hash, config);
    }

    /// <summary>Jobs whose walk ran to its end; the stamp is written only when every job's did.</summary>
    public int WalkedJobs { get; set; }

    public void Job(string path) => ComputeCollectStamp.AddLine(_hash, "job " + path);

    public void Entry(in WalkEntry e) => ComputeCollectStamp.AddEntry(_hash, e);

    public void Unreadable(string path, string kind, int errno) => _unreadable.Add((path, kind, errno));

    /// <summary>The stamp, as ComputeCollectStamp writes it.</summary>
    public string Finish()
    {
        foreach (var u in _unreadable) ComputeCollectStamp.AddLine(_hash, $"unreadable {u.Kind}:{u.Path}:{u.Errno}");
        return Convert.ToHexString(_hash.Finish()).ToLowerInvariant() + "\n";
    }

    public void Dispose() => _sha.Dispose();
}
