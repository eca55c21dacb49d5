using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// What one Collect run wrote and what was there: for each archive job, the archive's name, SHA-256 and
/// size (so Verify can check every copy against what was written) and the names of every file the source
/// held that day (so Restore knows a file deleted since the last full archive is gone). Written into the
/// collect dir next to the archives (gzip-compressed JSON), before cback.collect; it travels with them
/// through Stage, Store and the S3 upload.
/// </summary>
public sealed class CollectManifest
{
    public const string FileName = "backupbuild-manifest.json.gz";

    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    /// <summary>The collect's local date, yyyy-MM-dd.</summary>
    [JsonPropertyName("date")] public string Date { get; set; } = "";
    [JsonPropertyName("items")] public List<CollectManifestItem> Items { get; set; } = new();

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// The manifest's date without reading the rest: the writer puts "version" and "date" first, so a collect on a new
    /// day learns that yesterday's manifest is not today's from its first bytes instead of parsing every path in it.
    /// Null when the date is not among the first properties (the caller then reads the whole manifest).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a manifest.</exception>
    public static string? PeekDate(Stream stream)
    {
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            var buffer = new byte[4096];
            var length = 0;
            while (length < buffer.Length)
            {
                var n = gz.Read(buffer, length, buffer.Length - length);
                if (n == 0) break;
                length += n;
            }
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length), isFinalBlock: false, default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("not a manifest");
            // Only scalar properties at the top, before anything nested: the writer's "version" and "date".
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDate = reader.ValueTextEquals("date"u8);
                if (!reader.Read()) return null;
                if (isDate) return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) return null;
            }
            return null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <exception cref="InvalidDataException">Not a manifest.</exception>
    public static CollectManifest Read(Stream stream)
    {
        try
        {
            using var gz = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return JsonSerializer.Deserialize<CollectManifest>(gz, Options) ?? throw new InvalidDataException("empty manifest");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }
}

/// <summary>
/// Writes a <see cref="CollectManifest"/> as the collect goes: each item's paths are streamed into the
/// compressed JSON as the walk finds them (a million paths are never held in memory), the item's
/// archive facts follow once it is written. The file appears under its name only on <see cref="Commit"/>.
/// </summary>
public sealed class CollectManifestWriter : IDisposable
{
    private readonly string _path;
    private readonly string _temp;
    private readonly FileStream _stream;
    private readonly GZipStream _gzip;
    private readonly Utf8JsonWriter _json;
    private List<string>? _raw;
    private int _utf8Count;
    private readonly ManifestMembers.Builder _members = new();
    private bool _committed;

    public CollectManifestWriter(string path, string date)
    {
        _path = path;
        _temp = AtomicFile.TempPathFor(path);
        _stream = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        // Fastest: on a no-change run of a big tree this file is most of what Collect writes.
        _gzip = new GZipStream(_stream, CompressionLevel.Fastest, leaveOpen: true);
        _json = new Utf8JsonWriter(_gzip, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _json.WriteStartObject();
        _json.WriteNumber("version", 1);
        _json.WriteString("date", date);
        _json.WriteStartArray("items");
    }

    /// <summary>Starts an item; its paths follow.</summary>
    public void BeginItem()
    {
        _json.WriteStartObject();
        _json.WriteStartArray("paths");
        _raw = null;
        _utf8Count = 0;
        _members.Clear();
    }

    /// <summary>
    /// Adds a present file by its absolute path's bytes (stored without the leading '/'). The value names it for
    /// <see cref="AddMember"/>: its place in "paths" or "rawPaths".
    /// </summary>
    public int AddPath(byte[] absolute)
    {
        var member = absolute.AsSpan();
        while (!member.IsEmpty && member[0] == (byte)'/') member = member[1..];
        int token;
        if (System.Text.Unicode.Utf8.IsValid(member))
        {
            _json.WriteStringValue(member);
            token = ManifestMembers.Token(_utf8Count++, raw: false);
        }
        else
        {
            (_raw ??= new List<string>()).Add(Convert.ToBase64String(member));
            token = ManifestMembers.Token(_raw.Count - 1, raw: true);
        }
        if (_json.BytesPending > 1 << 16) _json.Flush();
        return token;
    }

    /// <summary>
    /// Records that the path <see cref="AddPath"/> returned <paramref name="token"/> for is in the item's archive, with
    /// its size and kind: the item's "members", which Find and Restore read instead of the archive. Thread-safe.
    /// </summary>
    public void AddMember(int token, in PosixStat stat) => _members.Add(token, stat.IsSymlink ? 0 : stat.Size, stat.IsSymlink);

    /// <summary>Ends the item with its archive facts (its <see cref="CollectManifestItem.Paths"/> are ignored).</summary>
    public void EndItem(CollectManifestItem item)
    {
        _json.WriteEndArray();
        if (_raw != null)
        {
            _json.WriteStartArray("rawPaths");
            foreach (var r in _raw) _json.WriteStringValue(r);
            _json.WriteEndArray();
        }
        _json.WriteString("source", item.Source);
        _json.WriteString("stem", item.Stem);
        _json.WriteString("mode", item.Mode);
        _json.WriteBoolean("complete", item.Complete);
        if (item.Archive != null) _json.WriteString("archive", item.Archive);
        if (item.Sha256 != null) _json.WriteString("sha256", item.Sha256);
        if (item.Since != null) _json.WriteString("since", item.Since);
        if (item.Previous != null) _json.WriteString("previous", item.Previous);
        _json.WriteNumber("size", item.Size);
        if (item.Archive != null) _json.WriteBase64String("members", _members.Bytes);
        // Written field by field (the properties in their declared order, nulls left out, as the serializer writes them):
        // the reflection-based serializer costs every run of a new process more than the whole list takes to write.
        if (item.Links is { Count: > 0 })
        {
            _json.WriteStartArray("links");
            foreach (var names in item.Links)
            {
                _json.WriteStartObject();
                WriteStrings("paths", names.Paths);
                if (names.RawPaths != null) WriteStrings("rawPaths", names.RawPaths);
                _json.WriteEndObject();
            }
            _json.WriteEndArray();
        }
        if (item.Folders is { Count: > 0 })
        {
            _json.WriteStartArray("folders");
            foreach (var folder in item.Folders)
            {
                _json.WriteStartObject();
                if (folder.Path != null) _json.WriteString("path", folder.Path);
                if (folder.RawPath != null) _json.WriteString("rawPath", folder.RawPath);
                _json.WriteNumber("mode", folder.Mode);
                _json.WriteNumber("uid", folder.Uid);
                _json.WriteNumber("gid", folder.Gid);
                _json.WriteNumber("mtime", folder.Mtime);
                _json.WriteEndObject();
                if (_json.BytesPending > 1 << 16) _json.Flush();
            }
            _json.WriteEndArray();
        }
        _json.WriteEndObject();
    }

    private void WriteStrings(string name, List<string> values)
    {
        _json.WriteStartArray(name);
        foreach (var v in values) _json.WriteStringValue(v);
        _json.WriteEndArray();
    }

    /// <summary>Finishes the file, flushes it to disk and puts it in place.</summary>
    public void Commit()
    {
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.Flush();
        _gzip.Dispose();
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        try
        {
            _json.Dispose();
            _gzip.Dispose();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        _stream.Dispose();
        try { File.Delete(_temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _committed = true;
    }
}

/// <summary>One archive job of a collect: <see cref="Stem"/> names it across days (the archive name without extension).</summary>
public sealed class CollectManifestItem
{
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    [JsonPropertyName("stem")] public string Stem { get; set; } = "";
    [JsonPropertyName("mode")] public string Mode { get; set; } = "";
    /// <summary>The archive holds every file of <see cref="Paths"/> (not only the day's changes).</summary>
    [JsonPropertyName("complete")] public bool Complete { get; set; }
    /// <summary>The archive's file name, or null when nothing needed archiving today.</summary>
    [JsonPropertyName("archive")] public string? Archive { get; set; }
    [JsonPropertyName("sha256")] public string? Sha256 { get; set; }
    [JsonPropertyName("size")] public long Size { get; set; }

    /// <summary>
    /// For an incremental item that is not <see cref="Complete"/>: the day (yyyy-MM-dd) of the collect whose state
    /// this day's archive is the difference from; that day's collect of the same <see cref="Stem"/> is the previous
    /// link of the chain Restore needs. Null when unknown (manifests of older versions, a Cedar peer): Restore then
    /// takes the previous stored day as the link.
    /// </summary>
    [JsonPropertyName("since")] public string? Since { get; set; }

    /// <summary>
    /// The day (yyyy-MM-dd) of the latest earlier collect that changed this item's state, when it is not
    /// <see cref="Since"/>: that collect and any between <see cref="Since"/> and it were not staged, and this day's
    /// archive carries their changes. A restore as of a day between the previous stored day and this one cannot be
    /// exact. Null otherwise.
    /// </summary>
    [JsonPropertyName("previous")] public string? Previous { get; set; }
    /// <summary>
    /// What <see cref="Archive"/> holds, so Find and Restore need not read it: for each member, its place in
    /// <see cref="Paths"/> or <see cref="RawPaths"/>, its kind and size, packed (<see cref="ManifestMembers"/>; base64
    /// in the JSON). Absent in manifests of older versions and for items without an archive.
    /// </summary>
    [JsonPropertyName("members")] public byte[]? Members { get; set; }

    /// <summary>Member names (absolute paths without the leading '/') of every file present at the collect.</summary>
    [JsonPropertyName("paths")] public List<string> Paths { get; set; } = new();

    /// <summary>
    /// The member names that are not valid UTF-8 (JSON strings cannot hold them), each as the base64 of its
    /// exact bytes. Absent when there are none.
    /// </summary>
    [JsonPropertyName("rawPaths")] public List<string>? RawPaths { get; set; }

    /// <summary>Every member name, the raw ones decoded as <see cref="Infrastructure.PosixPath"/> names.</summary>
    public IEnumerable<string> AllPaths() =>
        RawPaths == null ? Paths : Paths.Concat(RawPaths.Select(b => Infrastructure.PosixPath.Decode(Convert.FromBase64String(b))));

    /// <summary>
    /// Hard links: each group the member names (of <see cref="Paths"/>) of one regular file (one inode) the walk
    /// found under two or more names. The archive holds each name as a regular file (as Cedar's does); Restore
    /// links the names again. Absent when there are none (and in manifests of older versions).
    /// </summary>
    [JsonPropertyName("links")] public List<CollectManifestNames>? Links { get; set; }

    /// <summary>
    /// The folders on the way to this item's files (the item's folder and those under it): mode, owner and
    /// time, which the archive does not hold (Cedar archives have no folder entries). Absent in older manifests.
    /// </summary>
    [JsonPropertyName("folders")] public List<CollectManifestFolder>? Folders { get; set; }
}

/// <summary>Member names, each either a UTF-8 string or (for names that are not UTF-8) the base64 of its bytes.</summary>
public sealed class CollectManifestNames
{
    [JsonPropertyName("paths")] public List<string> Paths { get; set; } = new();
    [JsonPropertyName("rawPaths")] public List<string>? RawPaths { get; set; }

    public void Add(byte[] member)
    {
        if (System.Text.Unicode.Utf8.IsValid(member)) Paths.Add(System.Text.Encoding.UTF8.GetString(member));
        else (RawPaths ??= new List<string>()).Add(Convert.ToBase64String(member));
    }

    /// <summary>Every name as a <see cref="Infrastructure.PosixPath"/> name.</summary>
    public IEnumerable<string> All() =>
        RawPaths == null ? Paths : Paths.Concat(RawPaths.Select(b => Infrastructure.PosixPath.Decode(Convert.FromBase64String(b))));
}

/// <summary>A folder's metadata as the walk found it: its member name (no leading '/'), permission bits, numeric owner and mtime.</summary>
public sealed class CollectManifestFolder
{
    [JsonPropertyName("path")] public string? Path { get; set; }
    /// <summary>The base64 of the name's bytes when it is not UTF-8 (then <see cref="Path"/> is null).</summary>
    [JsonPropertyName("rawPath")] public string? RawPath { get; set; }
    [JsonPropertyName("mode")] public uint Mode { get; set; }
    [JsonPropertyName("uid")] public uint Uid { get; set; }
    [JsonPropertyName("gid")] public uint Gid { get; set; }
    [JsonPropertyName("mtime")] public long Mtime { get; set; }

    public static CollectManifestFolder Of(byte[] member, PosixStat stat) => new()
    {
        Path = System.Text.Unicode.Utf8.IsValid(member) ? System.Text.Encoding.UTF8.GetString(member) : null,
        RawPath = System.Text.Unicode.Utf8.IsValid(member) ? null : Convert.ToBase64String(member),
        Mode = stat.Permissions, Uid = stat.Uid, Gid = stat.Gid, Mtime = stat.MtimeSeconds,
    };

    /// <summary>The name as a <see cref="Infrastructure.PosixPath"/> name.</summary>
    public string Name() => Path ?? Infrastructure.PosixPath.Decode(Convert.FromBase64String(RawPath ?? ""));
}

/// <summary>
/// The packed member list of a manifest item (<see cref="CollectManifestItem.Members"/>): one record per archive member,
/// two unsigned LEB128 numbers: the path's token (its index in "paths" times 2, or its index in "rawPaths" times 2
/// plus 1), then the size times 2 plus 1 for a symbolic link (size 0). About 5 bytes a member.
/// </summary>
public static class ManifestMembers
{
    public static int Token(int index, bool raw) => index * 2 + (raw ? 1 : 0);

    /// <summary>A member as read back: the item's path (a <see cref="Infrastructure.PosixPath"/> name), its kind and size.</summary>
    public readonly record struct Member(string Name, bool Symlink, long Size);

    /// <summary>
    /// The members of <paramref name="item"/>, or null when it has none recorded (an older manifest).
    /// </summary>
    /// <exception cref="InvalidDataException">The list is damaged: a number that does not end or is too large, a path
    /// the item does not list, or a path listed twice.</exception>
    public static List<Member>? Read(CollectManifestItem item)
    {
        if (item.Members is not { } bytes) return null;
        var paths = item.Paths;
        var raw = item.RawPaths;
        var seen = new System.Collections.BitArray(paths.Count * 2 + (raw?.Count ?? 0) * 2 + 2);
        var result = new List<Member>();
        var at = 0;
        while (at < bytes.Length)
        {
            var token = Number(bytes, ref at);
            var sizeKind = Number(bytes, ref at);
            var index = token / 2;
            var isRaw = (token & 1) == 1;
            var count = isRaw ? raw?.Count ?? 0 : paths.Count;
            if (index >= (ulong)count) throw new InvalidDataException($"a member names path {index} of {count}");
            var slot = isRaw ? paths.Count * 2 + 2 * (int)index + 1 : 2 * (int)index;
            if (seen[slot]) throw new InvalidDataException("a member is listed twice");
            seen[slot] = true;
            var symlink = (sizeKind & 1) == 1;
            var size = sizeKind >> 1;
            if (size > long.MaxValue / 2 || (symlink && size != 0)) throw new InvalidDataException("a member has an impossible size");
            var name = isRaw ? Infrastructure.PosixPath.Decode(Convert.FromBase64String(raw![(int)index])) : paths[(int)index];
            result.Add(new Member(name, symlink, (long)size));
        }
        return result;
    }

    private static ulong Number(byte[] bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length) throw new InvalidDataException("the member list ends inside a number");
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (shift == 63 && b > 1) break;
                return value;
            }
        }
        throw new InvalidDataException("a number in the member list is too large");
    }

    /// <summary>Builds the packed list as the archive is written (from any thread).</summary>
    public sealed class Builder
    {
        private byte[] _bytes = new byte[256];
        private int _length;

        public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

        public void Clear()
        {
            lock (this) _length = 0;
        }

        public void Add(int token, long size, bool symlink)
        {
            lock (this)
            {
                Put((ulong)token);
                Put(((ulong)size << 1) | (symlink ? 1UL : 0UL));
            }
        }

        private void Put(ulong value)
        {
            if (_length + 10 > _bytes.Length) Array.Resize(ref _bytes, _bytes.Length * 2);
            while (value >= 0x80)
            {
                _bytes[_length++] = (byte)(value | 0x80);
                value >>= 7;
            }
            _bytes[_length++] = (byte)value;
        }
    }
}
