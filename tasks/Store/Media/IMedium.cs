namespace BackupBuild.Tasks.Store.Media;

/// <summary>What a medium holds before a session is written.</summary>
/// <param name="Blank">Nothing on it (or no file yet): the next session is the first.</param>
/// <param name="Appendable">A session can be added (false for a closed disc).</param>
/// <param name="Label">The volume id of its newest session; null when blank.</param>
/// <param name="NextWritableBlock">Where an appended session would start.</param>
/// <param name="Damage">Why nothing can be appended to what is there (an image BackupBuild cannot read); a new disc replaces it.</param>
public sealed record MediumInfo(bool Blank, bool Appendable, string? Label, int Sessions, long NextWritableBlock, string? Damage = null);

/// <summary>One session to write: the days (ISO path and staging folder) and empty folders, on a new disc or appended.</summary>
public sealed record SessionPlan(bool NewDisc, string Label, IReadOnlyList<(string IsoPath, string Source)> Days,
    IReadOnlyList<string> EmptyDirectories);

/// <summary>
/// A medium Store writes sessions to: an image file (our own ISO writer) or a drive (xorriso). Each step that
/// can fail throws <see cref="Infrastructure.CodedError"/>.
/// </summary>
public interface IMedium
{
    /// <summary>The device or image file, for messages.</summary>
    string Name { get; }

    /// <summary>True when a new disc may replace what is there (an image file; a rewritable or blank disc).</summary>
    bool CanStartNewDisc(MediumInfo info);

    MediumInfo Inspect();

    /// <summary>The bytes the session takes on the medium (a new image counts its 64 KiB head too).</summary>
    long Measure(SessionPlan plan);

    void Write(SessionPlan plan, IProgress<long> written, CancellationToken cancel);

    /// <summary>Cedar's refresh after writing: eject and load the medium again so the drive reads the new session.</summary>
    void Refresh(CancellationToken cancel);

    /// <summary>
    /// The staged entries of a day as written in this run, with the SHA-256 of each file computed while it was
    /// copied; null when the medium was written by another program (a drive: xorriso), so the day must be hashed apart.
    /// </summary>
    IReadOnlyList<StagedEntry>? WrittenEntries(string isoPath);

    /// <summary>SHA-256 of every regular file below <paramref name="isoPath"/>, by path relative to it; null when the folder is missing.</summary>
    IReadOnlyDictionary<string, byte[]>? HashFiles(string isoPath, CancellationToken cancel);
}
