using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>The request-queue states of the seed system, used by the client pools and the server's TODO queues.</summary>
public enum RequestState
{
    /// <summary>i: being written; a leftover means the run that wrote it was killed.</summary>
    Incomplete = 'i',
    /// <summary>C: complete, waiting to be processed.</summary>
    Complete = 'C',
    /// <summary>P: being processed (client: prepared and sent, waiting for the server's acknowledgement).</summary>
    Processing = 'P',
    /// <summary>F: finished; removed at the end of the run.</summary>
    Finished = 'F',
}

/// <summary>
/// One backup request: a module's source on the client and how the server pulls it. Stored as
/// key=value lines, one file per request named &lt;state&gt;&lt;id&gt;. Ids are
/// &lt;UTC time&gt;-&lt;module&gt;-&lt;12 hex digits of SHA-256 of the path&gt;: fixed length and safe in
/// file names and git trees whatever the path (the seed's base64 names broke on long paths and '/').
/// </summary>
public sealed class RequestRecord
{
    public static readonly Regex IdPattern = new(@"^[0-9]{8}T[0-9]{9}Z-[a-z]+-[0-9a-f]{12}$", RegexOptions.CultureInvariant);
    public static readonly Regex ShaPattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

    public string Id { get; init; } = "";
    public string Module { get; set; } = "";
    public string Transfer { get; set; } = "";
    public string Path { get; set; } = "";
    public string Created { get; set; } = "";
    /// <summary>sftp: the prepared file's SHA-256, size and path on the client.</summary>
    public string Sha256 { get; set; } = "";
    public long Size { get; set; }
    public string File { get; set; } = "";
    /// <summary>Runs that failed on this request, the last failure, and the failure last mailed about.</summary>
    public int Attempts { get; set; }
    public string Error { get; set; } = "";
    public string Mailed { get; set; } = "";

    /// <summary>Same module and path: the same request, whenever it was made.</summary>
    public string Key => Module + "-" + PathHash(Path);

    public bool Prepared => Transfer != "sftp" || (Sha256.Length == 64 && File.Length > 0);

    public static string PathHash(string path) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(path)))[..12].ToLowerInvariant();

    public static string NewId(DateTime utcNow, string module, string path) =>
        utcNow.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture) + "Z-" + module + "-" + PathHash(path);

    /// <summary>What the control line carries: everything the server needs, nothing of the client's bookkeeping.</summary>
    public string WireText()
    {
        var sb = new StringBuilder();
        sb.Append("id=").Append(Id).Append('\n');
        sb.Append("module=").Append(Module).Append('\n');
        sb.Append("transfer=").Append(Transfer).Append('\n');
        sb.Append("path=").Append(Escape(Path)).Append('\n');
        sb.Append("created=").Append(Created).Append('\n');
        if (Transfer == "sftp")
        {
            sb.Append("sha256=").Append(Sha256).Append('\n');
            sb.Append("size=").Append(Size.ToString(CultureInfo.InvariantCulture)).Append('\n');
            sb.Append("file=").Append(Escape(File)).Append('\n');
        }
        return sb.ToString();
    }

    public string Text()
    {
        var sb = new StringBuilder(WireText());
        if (Attempts > 0) sb.Append("attempts=").Append(Attempts.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (Error.Length > 0) sb.Append("error=").Append(Escape(Error)).Append('\n');
        if (Mailed.Length > 0) sb.Append("mailed=").Append(Mailed).Append('\n');
        return sb.ToString();
    }

    /// <summary>Parses a request; null with <paramref name="why"/> when it is not one.</summary>
    public static RequestRecord? Parse(string text, out string why)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            var eq = line.IndexOf('=');
            if (eq <= 0) { why = "a line without '='"; return null; }
            values[line[..eq]] = Unescape(line[(eq + 1)..]);
        }
        string Get(string k) => values.TryGetValue(k, out var v) ? v : "";
        var r = new RequestRecord
        {
            Id = Get("id"), Module = Get("module"), Transfer = Get("transfer"), Path = Get("path"), Created = Get("created"),
            Sha256 = Get("sha256"), File = Get("file"), Error = Get("error"), Mailed = Get("mailed"),
        };
        if (long.TryParse(Get("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size)) r.Size = size;
        if (int.TryParse(Get("attempts"), NumberStyles.None, CultureInfo.InvariantCulture, out var attempts)) r.Attempts = attempts;
        why = !IdPattern.IsMatch(r.Id) ? "no valid id"
            : r.Module.Length == 0 ? "no module"
            : r.Transfer is not ("git" or "rsync" or "sftp") ? $"unknown transfer \"{r.Transfer}\""
            : r.Path.Length == 0 ? "no path"
            : !r.Id.EndsWith("-" + r.Module + "-" + PathHash(r.Path), StringComparison.Ordinal) ? "an id that does not match its module and path"
            : "";
        return why.Length == 0 ? r : null;
    }

    /// <summary>Reads a request file; null when it is missing or damaged.</summary>
    public static RequestRecord? Load(string file)
    {
        try { return Parse(System.IO.File.ReadAllText(file), out _); }
        catch (IOException) { return null; }
    }

    public void Save(string file) => AtomicFile.WriteAllBytes(file, Encoding.UTF8.GetBytes(Text()));

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n");

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length) { sb.Append(s[i + 1] == 'n' ? '\n' : s[i + 1]); i++; }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}

/// <summary>
/// A folder of request files &lt;state&gt;&lt;id&gt; (a client's pool for one server, or a server's TODO
/// queue for one client). State changes are renames, so a request is always in exactly one state.
/// </summary>
public sealed class RequestQueue
{
    public RequestQueue(string directory) => Directory = directory;

    public string Directory { get; }

    public string PathOf(RequestState state, string id) => System.IO.Path.Combine(Directory, (char)state + id);

    public IEnumerable<(RequestState State, string Id)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) yield break;
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory).Order(StringComparer.Ordinal))
        {
            var name = System.IO.Path.GetFileName(file);
            if (name.Length < 2) continue;
            var id = name[1..];
            if (!RequestRecord.IdPattern.IsMatch(id)) continue;
            switch (name[0])
            {
                case 'i': yield return (RequestState.Incomplete, id); break;
                case 'C': yield return (RequestState.Complete, id); break;
                case 'P': yield return (RequestState.Processing, id); break;
                case 'F': yield return (RequestState.Finished, id); break;
            }
        }
    }

    public IEnumerable<string> Ids(RequestState state) => List().Where(e => e.State == state).Select(e => e.Id);

    public RequestRecord? Load(RequestState state, string id) => RequestRecord.Load(PathOf(state, id));

    /// <summary>Writes a new request: i&lt;id&gt; first, flushed, then renamed to C&lt;id&gt;.</summary>
    public void Add(RequestRecord r)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var incomplete = PathOf(RequestState.Incomplete, r.Id);
        using (var s = new FileStream(incomplete, FileMode.Create, FileAccess.Write))
        {
            s.Write(Encoding.UTF8.GetBytes(r.Text()));
            s.Flush(flushToDisk: true);
        }
        System.IO.File.Move(incomplete, PathOf(RequestState.Complete, r.Id));
    }

    public void Move(string id, RequestState from, RequestState to) =>
        System.IO.File.Move(PathOf(from, id), PathOf(to, id), overwrite: true);

    /// <summary>Rewrites a request's file in place (atomically), in the state it is in.</summary>
    public void Update(RequestState state, RequestRecord r) => r.Save(PathOf(state, r.Id));

    public void Remove(RequestState state, string id)
    {
        try { System.IO.File.Delete(PathOf(state, id)); } catch (IOException) { }
    }
}
