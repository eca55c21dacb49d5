using System.Globalization;
using Amazon.S3;
using GetObjectRequest = Amazon.S3.Model.GetObjectRequest;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Extensions.AmazonS3;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Iso;

namespace BackupBuild.Tasks.Restore;

/// <summary>One copy of a stored file on one medium (named as in <see cref="StoredCatalog.Media"/>): where it is, and how to read it.</summary>
/// <param name="Joined">
/// A view the catalog made of other stored files (a split file's pieces read as one, a .gpg read decrypted): what a
/// restore reads, not a file of its own; sizes and counts of what a medium holds leave it out.
/// </param>
internal sealed record StoredCopy(string Medium, string Location, long Size, Func<Stream> Open, DateTime? Uploaded = null, bool Joined = false);

/// <summary>
/// An earlier upload of a peer's day to S3 that a later upload of the same day overwrote (a versioned bucket keeps
/// it): its manifest version, its upload time and, per name, the object version uploaded with it.
/// </summary>
internal sealed record S3Upload(DateTime Day, string Peer, DateTime Uploaded, CollectManifest Manifest, IReadOnlyDictionary<string, StoredCopy> Files);

/// <summary>A file of a peer's staged day (an archive, the manifest, an indicator), by day, peer and name.</summary>
internal readonly record struct StoredKey(DateTime Day, string Peer, string Name);

/// <summary>
/// Everything stored, on every medium that can be reached: staging folders (StagingDir/YYYY/MM/DD/peer/),
/// image files (the newest tree of a multisession image holds the week) and S3 (bucket/prefix/YYYY/MM/DD/peer/).
/// Copies of the same file are listed in that order of preference.
/// </summary>
internal sealed class StoredCatalog : IDisposable
{
    private readonly Dictionary<StoredKey, List<StoredCopy>> _files = new();
    private readonly Dictionary<(DateTime, string), List<string>> _names = new();
    private readonly Dictionary<(DateTime, string), CollectManifest?> _manifests = new();
    private readonly List<IDisposable> _open = new();
    private readonly Action<string, object[]> _warn;

    private readonly HashSet<DateTime> _poolDays = new();
    private readonly HashSet<(DateTime, string)> _folders = new();

    private StoredCatalog(Action<string, object[]> warn) => _warn = warn;

    /// <summary>Days the pool was staged or stored: a staging day with cback.stage, a day folder on an image or in S3 holding a peer's folder.</summary>
    public IEnumerable<DateTime> PoolDays => _poolDays.Union(_names.Keys.Select(k => k.Item1)).Distinct().Order();

    /// <summary>Whether a medium holds a folder of the peer for the day (even an empty one).</summary>
    public bool HasFolder(DateTime day, string peer) => _folders.Contains((day, peer)) || _names.ContainsKey((day, peer));

    /// <summary>Media that were read: "staging /x", "image /y.iso", "s3://b/p/".</summary>
    public List<string> Media { get; } = new();

    /// <summary>The earlier uploads of days to S3 still in the bucket (only when no S3 upload time was asked for), oldest first per day.</summary>
    public List<S3Upload> OlderS3Uploads { get; } = new();

    public IEnumerable<string> Peers => _names.Keys.Select(k => k.Item2).Distinct().Order(StringComparer.Ordinal);

    public IEnumerable<DateTime> Days(string peer) =>
        _names.Keys.Where(k => k.Item2 == peer).Select(k => k.Item1).Distinct().Order();

    public IReadOnlyList<string> Names(DateTime day, string peer) =>
        _names.TryGetValue((day, peer), out var n) ? n : Array.Empty<string>();

    public IReadOnlyList<StoredCopy> Copies(DateTime day, string peer, string name) =>
        _files.TryGetValue(new StoredKey(day, peer, name), out var c) ? c : Array.Empty<StoredCopy>();

    public IEnumerable<KeyValuePair<StoredKey, List<StoredCopy>>> All => _files;

    /// <summary>
    /// What Collect's modules wrote into the collect dir (database dumps, repository dumps and bundles, mbox files,
    /// sysinfo listings…) and Stage carried with the day: every stored file of the day that is not an archive, the
    /// manifest, an indicator (cback.*), a split piece or the ciphertext of a file listed in plain.
    /// </summary>
    public IEnumerable<string> ModuleOutputs(DateTime day, string peer)
    {
        var names = Names(day, peer);
        var all = names.ToHashSet(StringComparer.Ordinal);
        return names.Where(n => !ArchiveStreams.IsArchiveName(n) && n != CollectManifest.FileName
                && !n.StartsWith("cback.", StringComparison.Ordinal) && !Piece.IsMatch(n)
                && !(n.EndsWith(".gpg", StringComparison.Ordinal) && all.Contains(n[..^4]))
                && !(ArchiveStreams.IsArchiveName(n.EndsWith(".gpg", StringComparison.Ordinal) ? n[..^4] : n)))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The day's manifest for the peer (the first copy that reads), or null (none: a Cedar peer, an older collect).</summary>
    public CollectManifest? Manifest(DateTime day, string peer)
    {
        if (_manifests.TryGetValue((day, peer), out var cached)) return cached;
        CollectManifest? found = null;
        foreach (var copy in Copies(day, peer, CollectManifest.FileName))
        {
            try
            {
                using var s = copy.Open();
                found = CollectManifest.Read(s);
                break;
            }
            catch (Exception e) when (IsReadFailure(e))
            {
                _warn("Restore.ManifestUnreadable", new object[] { copy.Location, e.Message });
            }
        }
        _manifests[(day, peer)] = found;
        return found;
    }

    public static StoredCatalog Build(string? stagingDir, IEnumerable<string> imageFiles, S3Location? s3, string? s3Endpoint,
        string? s3Region, Action<string, object[]> warn, CancellationToken cancel, DateTime? s3UploadedBy = null,
        GpgDecryption? gpg = null)
    {
        var catalog = new StoredCatalog(warn) { _gpg = gpg };
        // As of an S3 upload time only S3 is read: staging folders and images hold the newest upload of a day.
        if (s3UploadedBy != null)
        {
            stagingDir = null;
            imageFiles = Array.Empty<string>();
        }
        if (stagingDir != null && Directory.Exists(stagingDir)) catalog.AddStaging(stagingDir);
        foreach (var image in imageFiles.Distinct())
        {
            if (!File.Exists(image)) continue;
            try
            {
                catalog.AddImage(image);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                warn("Restore.ImageUnreadable", new object[] { image, e.Message });
            }
        }
        if (s3 != null)
        {
            try
            {
                catalog.AddS3(s3, s3Endpoint, s3Region, s3UploadedBy, cancel);
            }
            catch (Exception e) when (e is AmazonS3Exception or CodedError or HttpRequestException or Amazon.Runtime.AmazonClientException)
            {
                warn("Restore.S3Unreachable", new object[] { s3.ToString(), e.Message });
            }
        }
        catalog.JoinSplitPieces();
        if (gpg != null) catalog.JoinEncrypted(gpg);
        return catalog;
    }

    private static readonly System.Text.RegularExpressions.Regex Piece = new(@"^(.+)_(\d{5})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// The split extension replaces a large staged file FILE by FILE_00000, FILE_00001…: on each medium where the
    /// pieces are and FILE is not, FILE is read as its pieces one after another.
    /// </summary>
    private void JoinSplitPieces()
    {
        var groups = _files
            .Select(kv => (kv.Key, Match: Piece.Match(kv.Key.Name), kv.Value))
            .Where(x => x.Match.Success)
            .SelectMany(x => x.Value.Select(c => (Whole: new StoredKey(x.Key.Day, x.Key.Peer, x.Match.Groups[1].Value),
                Index: int.Parse(x.Match.Groups[2].Value, CultureInfo.InvariantCulture), Copy: c)))
            .GroupBy(x => (x.Whole, x.Copy.Medium))
            .ToList();
        foreach (var g in groups)
        {
            var pieces = g.OrderBy(x => x.Index).ToList();
            if (pieces.Where((x, i) => x.Index != i).Any()) continue; // not a complete run from _00000
            if (Copies(g.Key.Whole.Day, g.Key.Whole.Peer, g.Key.Whole.Name).Any(c => c.Medium == g.Key.Medium)) continue;
            var parts = pieces.Select(x => x.Copy).ToList();
            Add(g.Key.Whole.Day, g.Key.Whole.Peer, g.Key.Whole.Name, new StoredCopy(g.Key.Medium,
                parts[0].Location[..^"_00000".Length] + "_*", parts.Sum(c => c.Size), () => new ConcatenatedStream(parts), Joined: true));
        }
    }

    private GpgDecryption? _gpg;

    /// <summary>
    /// The encrypt extension replaces each staged file FILE by FILE.gpg (after any split: FILE.gpg_00000… are joined
    /// first): on each medium where FILE.gpg is and FILE is not, FILE is read as FILE.gpg decrypted by gpg.
    /// </summary>
    private void JoinEncrypted(GpgDecryption gpg)
    {
        var encrypted = _files.Where(kv => kv.Key.Name.EndsWith(".gpg", StringComparison.Ordinal) && kv.Key.Name.Length > 4)
            .SelectMany(kv => kv.Value.Select(c => (Plain: kv.Key with { Name = kv.Key.Name[..^4] }, Copy: c)))
            .ToList();
        foreach (var (plain, copy) in encrypted)
        {
            if (Copies(plain.Day, plain.Peer, plain.Name).Any(c => c.Medium == copy.Medium)) continue;
            Add(plain.Day, plain.Peer, plain.Name, new StoredCopy(copy.Medium, copy.Location, copy.Size,
                () => gpg.Open(copy.Open(), copy.Location), Joined: true));
        }
    }

    /// <summary>An S3 object as stored, or decrypted by gpg when it is OpenPGP ciphertext (S3EncryptCommand with gpg) and gpg is configured.</summary>
    private Stream OpenMaybeEncrypted(Stream raw, string location)
    {
        if (_gpg == null) return raw;
        var head = new byte[512];
        var got = raw.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        Stream whole = new ConcatenatedStream(new[]
        {
            new StoredCopy("", location, got, () => new MemoryStream(head, 0, got)),
            new StoredCopy("", location, 0, () => raw),
        });
        return GpgDecryption.LooksEncrypted(head.AsSpan(0, got)) ? _gpg.Open(whole, location) : whole;
    }

    private void Add(DateTime day, string peer, string name, StoredCopy copy)
    {
        var key = new StoredKey(day, peer, name);
        if (!_files.TryGetValue(key, out var list))
        {
            _files[key] = list = new List<StoredCopy>();
            if (!_names.TryGetValue((day, peer), out var names)) _names[(day, peer)] = names = new List<string>();
            names.Add(name);
        }
        list.Add(copy);
    }

    /// <summary>A day from the three folder names YYYY, MM, DD, or null.</summary>
    public static DateTime? Day(string y, string m, string d) =>
        y.Length == 4 && m.Length == 2 && d.Length == 2 &&
        DateTime.TryParseExact($"{y}-{m}-{d}", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day : null;

    private void AddStaging(string root)
    {
        Media.Add("staging " + root);
        foreach (var y in Directory.EnumerateDirectories(root))
        foreach (var m in Directory.EnumerateDirectories(y))
        foreach (var d in Directory.EnumerateDirectories(m))
        {
            if (Day(Path.GetFileName(y), Path.GetFileName(m), Path.GetFileName(d)) is not { } day) continue;
            if (File.Exists(Path.Combine(d, Indicators.Stage))) _poolDays.Add(day);
            foreach (var peerDir in Directory.EnumerateDirectories(d))
            {
                if (Posix.LStat(peerDir, out _) is not { IsDirectory: true }) continue;
                var peer = Path.GetFileName(peerDir);
                _folders.Add((day, peer));
                foreach (var file in Directory.EnumerateFiles(peerDir))
                {
                    var name = Path.GetFileName(file);
                    if (name.StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal)) continue;
                    if (Posix.LStat(file, out _) is not { IsRegular: true } st) continue;
                    Add(day, peer, name, new StoredCopy("staging " + root, file, st.Size,
                        () => new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan)));
                }
            }
        }
    }

    private void AddImage(string image)
    {
        using var medium = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var state = IsoMedium.Inspect(medium);
        if (state.IsBlank) return;
        var root = IsoMedium.ReadTree(medium, state.Head!);
        Media.Add("image " + image);
        foreach (var y in Dirs(root))
        foreach (var m in Dirs(y))
        foreach (var d in Dirs(m))
        {
            if (Day(y.Name, m.Name, d.Name) is not { } day) continue;
            foreach (var peer in Dirs(d))
            {
                _poolDays.Add(day);
                _folders.Add((day, peer.Name));
            }
            foreach (var peer in Dirs(d))
            foreach (var file in peer.Children.Values.Where(c => c.Kind == IsoEntryKind.File))
            {
                var extents = file.Existing ?? new List<(uint, uint)>();
                var size = file.Size;
                Add(day, peer.Name, file.Name, new StoredCopy("image " + image, $"{image}:{file.IsoPath}", size,
                    () => new ExtentStream(new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16), extents)));
            }
        }
    }

    private static IEnumerable<IsoEntry> Dirs(IsoEntry e) => e.Children.Values.Where(c => c.IsDirectory);

    /// <summary>
    /// S3 (bucket/prefix/YYYY/MM/DD/peer/name): every version that holds data, also one hidden by a delete marker
    /// (a versioned or Object Lock bucket keeps it), so a day someone deleted is still restorable until its
    /// retention ends. A day uploaded more than once (Full, a re-staged day) has one manifest version per upload;
    /// each upload is its manifest version with, per archive, the version whose stored SHA-256 is the one that
    /// manifest records (else the newest version uploaded no later than the manifest: an upload sends the
    /// manifest last). By default the catalog holds each key's newest version and <see cref="OlderS3Uploads"/> the
    /// earlier uploads; with <paramref name="uploadedBy"/> it holds, per day, the newest upload made by then.
    /// </summary>
    private void AddS3(S3Location where, string? endpoint, string? region, DateTime? uploadedBy, CancellationToken cancel)
    {
        var client = S3Connection.Create(endpoint, region);
        _open.Add(client);
        var transfer = new S3Transfer(client, S3Settings.ReadPartSize, cancel, (_, _) => { });
        var versions = transfer.AllVersions(where)
            ?? transfer.List(where).Values.Select(o => new S3Transfer.StoredVersion(o.Key, "null", o.Size ?? 0, S3Transfer.Utc(o.LastModified), true)).ToList();
        var medium = where.ToString();
        var bucket = where.Bucket;
        Media.Add(medium);

        StoredCopy CopyOf(S3Transfer.StoredVersion v)
        {
            var key = v.Key;
            var location = v.Current ? $"s3://{bucket}/{key}" : $"s3://{bucket}/{key}?versionId={v.VersionId}";
            var version = v.Current ? null : v.VersionId;
            return new StoredCopy(medium, location, v.Size, () => OpenMaybeEncrypted(
                client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, VersionId = version }, cancel).GetAwaiter().GetResult().ResponseStream,
                location), v.Uploaded);
        }

        var shas = new Dictionary<(string, string), string?>();
        string? Sha(S3Transfer.StoredVersion v)
        {
            if (shas.TryGetValue((v.Key, v.VersionId), out var sha)) return sha;
            try
            {
                sha = transfer.StoredSha256(bucket, v.Key, v.VersionId);
            }
            catch (CodedError)
            {
                sha = null;
            }
            return shas[(v.Key, v.VersionId)] = sha;
        }

        CollectManifest? Read(S3Transfer.StoredVersion v)
        {
            var copy = CopyOf(v);
            try
            {
                using var s = copy.Open();
                return CollectManifest.Read(s);
            }
            catch (Exception e) when (IsReadFailure(e))
            {
                _warn("Restore.ManifestUnreadable", new object[] { copy.Location, e.Message });
                return null;
            }
        }

        // The versions of each (day, peer), by name, newest first (the order S3 lists them in).
        var days = new Dictionary<(DateTime Day, string Peer), Dictionary<string, List<S3Transfer.StoredVersion>>>();
        foreach (var v in versions)
        {
            var parts = v.Key[where.Prefix.Length..].Split('/');
            if (parts.Length != 5 || Day(parts[0], parts[1], parts[2]) is not { } day) continue;
            if (!days.TryGetValue((day, parts[3]), out var names)) days[(day, parts[3])] = names = new Dictionary<string, List<S3Transfer.StoredVersion>>(StringComparer.Ordinal);
            if (!names.TryGetValue(parts[4], out var list)) names[parts[4]] = list = new List<S3Transfer.StoredVersion>();
            list.Add(v);
        }

        // One upload: the manifest version and, per other name, the version uploaded with it.
        Dictionary<string, S3Transfer.StoredVersion> Upload(Dictionary<string, List<S3Transfer.StoredVersion>> names,
            S3Transfer.StoredVersion? manifestVersion, CollectManifest? manifest, Func<S3Transfer.StoredVersion, bool> inTime)
        {
            var result = new Dictionary<string, S3Transfer.StoredVersion>(StringComparer.Ordinal);
            foreach (var (name, list) in names)
            {
                S3Transfer.StoredVersion? pick;
                if (name == CollectManifest.FileName) pick = manifestVersion ?? list.FirstOrDefault(inTime);
                else
                {
                    var sha = manifest?.Items.FirstOrDefault(i => i.Archive == name)?.Sha256;
                    pick = sha == null ? null : list.FirstOrDefault(v => string.Equals(Sha(v), sha, StringComparison.OrdinalIgnoreCase));
                    pick ??= list.FirstOrDefault(inTime);
                }
                if (pick != null) result[name] = pick;
            }
            return result;
        }

        foreach (var ((day, peer), names) in days)
        {
            var manifests = names.TryGetValue(CollectManifest.FileName, out var m) ? m : new List<S3Transfer.StoredVersion>();
            Dictionary<string, S3Transfer.StoredVersion> chosen;
            if (uploadedBy is { } by)
            {
                bool InTime(S3Transfer.StoredVersion v) => WholeSecond(v.Uploaded) <= by;
                var manifestVersion = manifests.FirstOrDefault(InTime);
                chosen = Upload(names, manifestVersion, manifestVersion == null || manifests.Count == 1 ? null : Read(manifestVersion), InTime);
            }
            else
            {
                chosen = names.ToDictionary(n => n.Key, n => n.Value[0], StringComparer.Ordinal);
                foreach (var older in manifests.Skip(1).Reverse())
                {
                    if (Read(older) is not { } manifest) continue;
                    var files = Upload(names, older, manifest, v => v.Uploaded <= older.Uploaded);
                    OlderS3Uploads.Add(new S3Upload(day, peer, older.Uploaded, manifest,
                        files.ToDictionary(f => f.Key, f => CopyOf(f.Value), StringComparer.Ordinal)));
                }
            }
            foreach (var (name, v) in chosen) Add(day, peer, name, CopyOf(v));
        }
    }

    /// <summary>A time without its fraction of a second (upload times are given to the second).</summary>
    internal static DateTime WholeSecond(DateTime t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);

    /// <summary>The failures of reading a stored copy: a file, an image, an S3 object (including the SDK's own MD5 check), a damaged compressed stream.</summary>
    public static bool IsReadFailure(Exception e) =>
        e is IOException or InvalidDataException or UnauthorizedAccessException or ICSharpCode.SharpZipLib.SharpZipBaseException
            or Amazon.Runtime.AmazonClientException or Amazon.Runtime.AmazonServiceException;

    public void Dispose()
    {
        foreach (var d in _open) d.Dispose();
    }

    /// <summary>Copies read one after another, each opened when the previous one ends.</summary>
    private sealed class ConcatenatedStream : ReadOnlyStream
    {
        private readonly IReadOnlyList<StoredCopy> _parts;
        private int _next;
        private Stream? _current;

        public ConcatenatedStream(IReadOnlyList<StoredCopy> parts) => _parts = parts;

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (true)
            {
                if (_current == null)
                {
                    if (_next >= _parts.Count) return 0;
                    _current = _parts[_next++].Open();
                }
                var n = _current.Read(buffer, offset, count);
                if (n > 0) return n;
                _current.Dispose();
                _current = null;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _current?.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A file's data on an image: its extents, one after another.</summary>
    private sealed class ExtentStream : ReadOnlyStream
    {
        private readonly FileStream _image;
        private readonly IReadOnlyList<(uint Lba, uint Length)> _extents;
        private int _index;
        private long _inExtent;

        public ExtentStream(FileStream image, IReadOnlyList<(uint, uint)> extents)
        {
            _image = image;
            _extents = extents;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (_index < _extents.Count)
            {
                var (lba, length) = _extents[_index];
                var left = length - _inExtent;
                if (left <= 0)
                {
                    _index++;
                    _inExtent = 0;
                    continue;
                }
                _image.Position = lba * (long)IsoBytes.BlockSize + _inExtent;
                var n = _image.Read(buffer, offset, (int)Math.Min(count, left));
                if (n == 0) throw new InvalidDataException("The image ends inside a file's data: it is truncated.");
                _inExtent += n;
                return n;
            }
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _image.Dispose();
            base.Dispose(disposing);
        }
    }
}
