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

    internal sealed record Result(string Date, double Fraction, int Checked, int Unverifiable, List<Finding> Findings, int Encrypted = 0);

    /// <summary>
    /// Encrypted days (the encrypt extension's FILE.gpg) are read through gpg when the restore settings say where their
    /// secret key is (RestoreGpgHomeDir or RestorePassphraseFile): a master that encrypts to a key kept elsewhere cannot
    /// read them, and says so once (BKP8112) instead of failing every copy.
    /// </summary>
    private protected override bool Decrypts => _keyWhy == null && Decryption is { HomeDir: not null } or { PassphraseFile: not null };

    /// <summary>Why gpg could not decrypt the first encrypted manifests tried (then no encrypted day is read), or null.</summary>
    private string? _keyWhy;

    /// <summary>
    /// Whether gpg decrypts one of the first three encrypted manifest copies: when none does (the key is not in the
    /// configured home: a master that encrypts to a key kept elsewhere), the catalog is listed again without gpg and
    /// every encrypted day is counted unread in one warning, instead of a warning per manifest copy and day.
    /// </summary>
    private bool KeyAvailable(StoredCatalog catalog)
    {
        var tried = catalog.All.Where(kv => kv.Key.Name == CollectManifest.FileName).SelectMany(kv => kv.Value)
            .Where(c => c.Location.EndsWith(".gpg", StringComparison.Ordinal)).Take(3).ToList();
        string? why = null;
        foreach (var copy in tried)
        {
            try
            {
                using var s = copy.Open();
                s.CopyTo(Stream.Null);
                return true;
            }
            catch (Exception e) when (StoredCatalog.IsReadFailure(e))
            {
                why ??= e.Message;
            }
        }
        _keyWhy = why;
        return why == null;
    }

    protected override bool Run()
    {
        var problems = new Problems();
        var media = Media(problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var clock = Settings.RunSettings.Parse(RunSettings, problems)?.Clock;
        var settings = Settings.VerifySettings.Parse(VerifySettings, problems);
        // Optional here (the targets pass it): without it no encrypted day is read, and BKP8112 says so.
        if (RestoreSettings != null) Decryption = Settings.RestoreSettings.ParseGpg(RestoreSettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || settings == null) return false;
        var fraction = settings.Fraction;

        var listed = Catalog(media!);
        if (listed != null && Decrypts && !KeyAvailable(listed))
        {
            listed.Dispose();
            listed = Catalog(media!);
        }
        using var catalog = listed;
        if (catalog == null) return false;
        var share = (int)Math.Ceiling(1 / fraction - 1e-9);
        var turn = (int)(clock!.Today.Ticks / TimeSpan.TicksPerDay % share);
        var findings = new List<Finding>();
        int verified = 0, unverifiable = 0, encrypted = 0;
        var encryptedDays = new List<string>();

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
                // Ciphertext whose manifest could not be read (no key configured here, or gpg could not decrypt it):
                // nothing of the day was checked, and the summary and the report say so.
                var sealedArchives = names.Where(n => n.EndsWith(".gpg", StringComparison.Ordinal) && ArchiveStreams.IsArchiveName(n[..^4])
                    && !names.Contains(n[..^4])).Sum(n => catalog.Copies(day, peer, n).Count);
                if (sealedArchives > 0 && names.Any(n => n == CollectManifest.FileName + ".gpg"))
                {
                    encrypted += sealedArchives;
                    encryptedDays.Add($"{peer} {Day(day)}");
                    Detail("Verify.EncryptedDay", Day(day), peer, sealedArchives);
                    continue;
                }
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
                    if (copy == null && catalog.Copies(day, peer, item.Archive + ".gpg").Any(c => c.Medium == medium))
                    {
                        // Encrypted on this medium after its manifest was read in plain elsewhere, and not decrypted here.
                        encrypted++;
                        if (!encryptedDays.Contains($"{peer} {Day(day)}")) encryptedDays.Add($"{peer} {Day(day)}");
                        continue;
                    }
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

        if (encrypted > 0)
        {
            var days = string.Join(", ", encryptedDays.Take(3)) + (encryptedDays.Count > 3 ? $" and {encryptedDays.Count - 3} more days" : "");
            Log.LogWarningWithCodeFromResources("Verify.EncryptedUnread", encrypted, days,
                _keyWhy != null ? Format("Verify.EncryptedNoDecrypt", _keyWhy) : Format(Decrypts ? "Verify.EncryptedUnreadManifest" : "Verify.EncryptedNoKey"));
        }
        var result = new Result(Day(clock.Today), fraction, verified, unverifiable, findings, encrypted);
        Directory.CreateDirectory(working!);
        AtomicFile.WriteAllBytes(Path.Combine(working!, ResultFile), JsonSerializer.SerializeToUtf8Bytes(result));
        Progress("Verify.Summary", verified, findings.Count(f => f.Kind == "bad"), findings.Count(f => f.Kind == "missing"),
            unverifiable, string.Join(", ", catalog.Media), share > 1 ? $"1/{share}" : "all", findings.Count(f => f.Kind == "gap"), encrypted);
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
