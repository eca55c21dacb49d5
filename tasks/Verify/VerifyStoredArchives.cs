using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Restore;

namespace BackupBuild.Tasks.Verify;

/// <summary>
/// The Verify action (restic's check --read-data): every archive a collect manifest records, on every medium
/// that holds that peer's day, is read in full and its SHA-256 and size compared with what Collect recorded
/// when it wrote it. With Fraction below 1 only that share of the archives is read, a different share each
/// day, so a large store is read completely over 1/Fraction days. The result goes to WorkingDir/verify.json
/// for the Report. Holes in each peer's chain of archives (an archive a manifest names that no medium holds, a day an
/// incremental archive builds on that is stored nowhere) are reported per peer and day.
/// </summary>
public sealed class VerifyStoredArchives : StoredDataTask
{
    public const string ResultFile = "verify.json";

    /// <summary>@(BackupVerifySettings): VerifyFraction, the share of the archives one run reads (Settings/VerifySettings).</summary>
    public Microsoft.Build.Framework.ITaskItem? VerifySettings { get; set; }
    /// <summary>@(BackupRunSettings): the day Verify acts as of (which share of the archives it reads).</summary>
    public Microsoft.Build.Framework.ITaskItem? RunSettings { get; set; }
    public string? WorkingDir { get; set; }

    internal sealed record Finding(string Kind, string Location, string Detail);

    internal sealed record Result(string Date, double Fraction, int Checked, int Unverifiable, List<Finding> Findings);

    protected override bool Run()
    {
        var problems = new Problems();
        var media = Media(problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var clock = Settings.RunSettings.Parse(RunSettings, problems)?.Clock;
        var settings = Settings.VerifySettings.Parse(VerifySettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || settings == null) return false;
        var fraction = settings.Fraction;

        using var catalog = Catalog(media!);
        if (catalog == null) return false;
        var share = (int)Math.Ceiling(1 / fraction - 1e-9);
        var turn = (int)(clock!.Today.Ticks / TimeSpan.TicksPerDay % share);
        var findings = new List<Finding>();
        int verified = 0, unverifiable = 0;

        foreach (var peer in catalog.Peers)
        foreach (var gap in RestoreTimeline.AllGaps(catalog, peer))
        {
            // Holes in the chain: whatever the share, they cost nothing to find (manifests only).
            findings.Add(new Finding("gap", $"{peer} {Day(gap.Day)}", gap.Text));
            Log.LogErrorWithCodeFromResources("Verify.Gap", peer, Day(gap.Day), gap.Text);
        }
        foreach (var peer in catalog.Peers)
        foreach (var (day, gap) in RestoreTimeline.MissedDays(catalog, peer).OrderBy(m => m.Key))
        {
            // Days the pool was staged but this peer's tree was not (no folder, or one Stage left part way).
            findings.Add(new Finding("gap", $"{peer} {Day(day)}", gap.Text));
            Log.LogErrorWithCodeFromResources("Verify.Missed", peer, Day(day), gap.Text);
        }
        foreach (var peer in catalog.Peers)
        foreach (var gap in RestoreTimeline.UnstoredCollects(catalog, peer))
        {
            findings.Add(new Finding("unstored", $"{peer} {Day(gap.Day)}", gap.Text));
            Log.LogWarningWithCodeFromResources("Verify.Unstored", peer, Day(gap.Day), gap.Text);
        }

        foreach (var peer in catalog.Peers)
        foreach (var day in catalog.Days(peer))
        {
            var names = catalog.Names(day, peer);
            var holding = names.SelectMany(n => catalog.Copies(day, peer, n)).Select(c => c.Medium).Distinct().ToList();
            var manifest = catalog.Manifest(day, peer);
            if (manifest == null)
            {
                var archives = names.Count(ArchiveStreams.IsArchiveName);
                unverifiable += archives;
                if (archives > 0) Detail("Verify.NoChecksums", Day(day), peer, archives);
                continue;
            }
            CheckManifestCopies(catalog.Copies(day, peer, CollectManifest.FileName), findings);
            foreach (var item in manifest.Items.Where(i => i.Archive != null && i.Sha256 != null))
            {
                if (share > 1 && Bucket($"{Day(day)}/{peer}/{item.Archive}", share) != turn) continue;
                var copies = catalog.Copies(day, peer, item.Archive!);
                foreach (var medium in holding)
                {
                    Cancellation.ThrowIfCancellationRequested();
                    var copy = copies.FirstOrDefault(c => c.Medium == medium);
                    if (copy == null)
                    {
                        findings.Add(new Finding("missing", $"{medium}: {Day(day)}/{peer}/{item.Archive}", ""));
                        Log.LogErrorWithCodeFromResources("Verify.Missing", item.Archive!, Day(day), peer, medium);
                        continue;
                    }
                    verified++;
                    Check(copy, item, findings);
                }
            }
        }

        // Earlier uploads of a day to S3 that a later one overwrote: each version against the manifest uploaded with it.
        var checkedLocations = catalog.All.SelectMany(kv => kv.Value).Select(c => c.Location).ToHashSet(StringComparer.Ordinal);
        foreach (var upload in catalog.OlderS3Uploads)
        {
            var uploaded = upload.Uploaded.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            foreach (var item in upload.Manifest.Items.Where(i => i.Archive != null && i.Sha256 != null))
            {
                if (share > 1 && Bucket($"{Day(upload.Day)}/{upload.Peer}/{item.Archive}", share) != turn) continue;
                Cancellation.ThrowIfCancellationRequested();
                if (!upload.Files.TryGetValue(item.Archive!, out var copy))
                {
                    var medium = $"{catalog.Media.FirstOrDefault(m => m.StartsWith("s3://", StringComparison.Ordinal))} (upload of {uploaded})";
                    findings.Add(new Finding("missing", $"{medium}: {Day(upload.Day)}/{upload.Peer}/{item.Archive}", ""));
                    Log.LogErrorWithCodeFromResources("Verify.Missing", item.Archive!, Day(upload.Day), upload.Peer, medium);
                    continue;
                }
                if (!checkedLocations.Add(copy.Location)) continue; // the same version is also in a newer upload
                verified++;
                Check(copy, item, findings);
            }
        }

        var result = new Result(Day(clock.Today), fraction, verified, unverifiable, findings);
        Directory.CreateDirectory(working!);
        AtomicFile.WriteAllBytes(Path.Combine(working!, ResultFile), JsonSerializer.SerializeToUtf8Bytes(result));
        Progress("Verify.Summary", verified, findings.Count(f => f.Kind == "bad"), findings.Count(f => f.Kind == "missing"),
            unverifiable, string.Join(", ", catalog.Media), share > 1 ? $"1/{share}" : "all", findings.Count(f => f.Kind == "gap"));
        return !Log.HasLoggedErrors;
    }

    /// <summary>A copy of an archive is read in full; its SHA-256 and size must be what the manifest records.</summary>
    private void Check(StoredCopy copy, CollectManifestItem item, List<Finding> findings)
    {
        var (sha, size, error) = Hash(copy);
        if (error != null)
        {
            findings.Add(new Finding("bad", copy.Location, error));
            Log.LogErrorWithCodeFromResources("Verify.Unreadable", copy.Location, error);
        }
        else if (size != item.Size || !string.Equals(sha, item.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            var detail = $"SHA-256 {sha}, {size} bytes; recorded {item.Sha256}, {item.Size} bytes";
            findings.Add(new Finding("bad", copy.Location, detail));
            Log.LogErrorWithCodeFromResources("Verify.Bad", copy.Location, sha!, size, item.Sha256!, item.Size);
        }
        else
        {
            Trace("Verify.Good", copy.Location);
        }
    }

    /// <summary>Every copy of a day's manifest must be the same file; one that differs was damaged.</summary>
    private void CheckManifestCopies(IReadOnlyList<StoredCopy> copies, List<Finding> findings)
    {
        var hashes = copies.Select(c => (Copy: c, Hash: Hash(c))).ToList();
        var majority = hashes.Where(h => h.Hash.Error == null).GroupBy(h => h.Hash.Sha).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key;
        foreach (var (copy, (sha, _, error)) in hashes)
        {
            if (error == null && sha == majority) continue;
            var detail = error ?? $"differs from the other copies (SHA-256 {sha}, expected {majority})";
            findings.Add(new Finding("bad", copy.Location, detail));
            Log.LogErrorWithCodeFromResources("Verify.Unreadable", copy.Location, detail);
        }
    }

    private static (string? Sha, long Size, string? Error) Hash(StoredCopy copy)
    {
        try
        {
            using var s = copy.Open();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            long size = 0;
            int n;
            while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                size += n;
            }
            return (Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant(), size, null);
        }
        catch (Exception e) when (StoredCatalog.IsReadFailure(e))
        {
            return (null, 0, e.Message);
        }
    }

    /// <summary>Which of <paramref name="share"/> daily turns reads this archive: stable across runs and machines.</summary>
    internal static int Bucket(string key, int share) =>
        (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(key)), 0) % (uint)share);
}
