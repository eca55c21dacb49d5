using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>One stored sftp version: which source, made when on the client, received when, and its content object.</summary>
public sealed record VersionRecord(string Id, string Client, string Module, string Path, DateTime Created, DateTime Received, string Sha256, long Size)
{
    public static VersionRecord From(string client, RequestRecord r, DateTime receivedUtc)
    {
        var created = DateTime.TryParse(r.Created, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var c)
            ? c : receivedUtc;
        return new VersionRecord(r.Id, client, r.Module, r.Path, created, receivedUtc, r.Sha256, r.Size);
    }

    public void Save(string file) => AtomicFile.WriteAllBytes(file, Encoding.UTF8.GetBytes(
        $"id={Id}\nclient={Client}\nmodule={Module}\npath={Path.Replace("\n", "\\n")}\n" +
        $"created={Created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\n" +
        $"received={Received.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\n" +
        $"sha256={Sha256}\nsize={Size.ToString(CultureInfo.InvariantCulture)}\n"));

    public static VersionRecord? Load(string file)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var eq = line.IndexOf('=');
                if (eq > 0) values[line[..eq]] = line[(eq + 1)..];
            }
        }
        catch (IOException) { return null; }
        string Get(string k) => values.TryGetValue(k, out var v) ? v : "";
        if (!DateTime.TryParse(Get("created"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created) ||
            !DateTime.TryParse(Get("received"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var received) ||
            !RequestRecord.ShaPattern.IsMatch(Get("sha256")) || !long.TryParse(Get("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            return null;
        return new VersionRecord(Get("id"), Get("client"), Get("module"), Get("path").Replace("\\n", "\n"), created, received, Get("sha256"), size);
    }
}
