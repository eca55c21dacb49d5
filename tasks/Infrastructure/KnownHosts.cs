using System.Security.Cryptography;
using System.Text;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>What <see cref="KnownHosts.Check"/> decided about the key a peer presented.</summary>
public enum HostKeyVerdict
{
    /// <summary>A known_hosts line for the host lists exactly this key (and no @revoked line names it).</summary>
    Accepted,
    /// <summary>No line lists a key for the host: ssh with StrictHostKeyChecking=yes refuses the host as unknown.</summary>
    UnknownHost,
    /// <summary>Keys are listed for the host, but not this one: ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED".</summary>
    Changed,
    /// <summary>An @revoked line for the host names this key: refused even when another line lists it.</summary>
    Revoked,
}

/// <summary>
/// The host-key policy of OpenSSH's ssh with StrictHostKeyChecking=yes (and CheckHostIP=no, its default), read from the
/// same known_hosts files ssh reads, so that SSH.NET connections and the rsync/scp that still run ssh can never disagree
/// about a peer (tests/BackupBuild.Tests/Stage/KnownHostsTests.cs compares the verdicts with ssh's on a real sshd).
/// <list type="bullet">
/// <item>Files: the SshKnownHostsFile (ssh's UserKnownHostsFile) or else ~/.ssh/known_hosts and ~/.ssh/known_hosts2, plus
/// the system-wide /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2, which ssh reads in every case. A missing
/// or unreadable file holds no keys; a line ssh cannot parse is skipped, as ssh skips it.</item>
/// <item>Names: the host as looked up is the lower-cased host for port 22 and "[host]:port" for any other port. A line's
/// host field is a hashed name (|1|salt|HMAC-SHA1(salt, name), both base64) or a comma list of patterns with * and ?,
/// where any matching "!pattern" excludes the line.</item>
/// <item>Verdict: a matching @revoked line with the key → revoked; else a matching plain line with the key → accepted;
/// else any other key on a matching plain line (of any type) → changed; else unknown. For a port other than 22 an
/// unknown "[host]:port" is looked up once more as plain "host", and accepted only when that lookup accepts.</item>
/// <item>@cert-authority lines are read but only certificates could use them; BackupBuild offers no certificate
/// algorithms, so a host known only through a CA line is an unknown host, as ssh finds it when the host presents a
/// plain key.</item>
/// </list>
/// </summary>
public sealed class KnownHosts
{
    private enum Marker { None, CertAuthority, Revoked }

    private sealed record Entry(Marker Marker, string Hosts, string KeyType, byte[] Blob);

    private readonly List<Entry> _entries;

    private KnownHosts(List<Entry> entries) => _entries = entries;

    /// <summary>The files ssh reads for a peer: UserKnownHostsFile (or its default) and the system-wide files.</summary>
    public static IReadOnlyList<string> FilesFor(string? knownHostsFile)
    {
        var files = new List<string>();
        if (!string.IsNullOrEmpty(knownHostsFile)) files.Add(knownHostsFile);
        else
        {
            var home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            files.Add(Path.Combine(home, ".ssh", "known_hosts"));
            files.Add(Path.Combine(home, ".ssh", "known_hosts2"));
        }
        files.Add("/etc/ssh/ssh_known_hosts");
        files.Add("/etc/ssh/ssh_known_hosts2");
        return files;
    }

    /// <summary>Reads the files (missing or unreadable ones hold nothing, as for ssh).</summary>
    public static KnownHosts Load(IEnumerable<string> files)
    {
        var entries = new List<Entry>();
        foreach (var file in files)
        {
            string[] lines;
            try { lines = File.ReadAllLines(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (var line in lines)
                if (Parse(line) is { } entry) entries.Add(entry);
        }
        return new KnownHosts(entries);
    }

    /// <summary>Parses one known_hosts line as ssh does; null for comments, blank and malformed lines.</summary>
    public static KnownHosts FromText(string text) =>
        new(text.Split('\n').Select(l => Parse(l.TrimEnd('\r'))).OfType<Entry>().ToList());

    /// <summary>The name ssh looks a host up by: "host" on port 22, "[host]:port" otherwise, lower case.</summary>
    public static string LookupName(string host, int port)
    {
        host = host.ToLowerInvariant();
        return port == 22 ? host : $"[{host}]:{port}";
    }

    /// <summary>The verdict on <paramref name="hostKey"/> (the key blob as the server sent it) for host and port.</summary>
    public HostKeyVerdict Check(string host, int port, byte[] hostKey)
    {
        var verdict = CheckName(LookupName(host, port), hostKey);
        if (verdict == HostKeyVerdict.UnknownHost && port != 22 &&
            CheckName(LookupName(host, 22), hostKey) == HostKeyVerdict.Accepted)
            return HostKeyVerdict.Accepted;
        return verdict;
    }

    /// <summary>
    /// The key types (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256…) the plain lines list for the host (not @revoked or
    /// @cert-authority lines): ssh prefers the host-key algorithms of these types when it negotiates, so SSH.NET offers
    /// them first too, and both are shown the same key.
    /// </summary>
    public IReadOnlyList<string> KnownKeyTypes(string host, int port)
    {
        var name = LookupName(host, port);
        return _entries.Where(e => e.Marker == Marker.None && Matches(e.Hosts, name))
            .Select(e => e.KeyType).Distinct().ToList();
    }

    private HostKeyVerdict CheckName(string name, byte[] key)
    {
        var verdict = HostKeyVerdict.UnknownHost;
        foreach (var e in _entries)
        {
            if (e.Marker != Marker.None || !Matches(e.Hosts, name)) continue;
            if (e.Blob.AsSpan().SequenceEqual(key)) { verdict = HostKeyVerdict.Accepted; break; }
            verdict = HostKeyVerdict.Changed;
        }
        if (_entries.Any(e => e.Marker == Marker.Revoked && e.Blob.AsSpan().SequenceEqual(key) && Matches(e.Hosts, name)))
            return HostKeyVerdict.Revoked;
        return verdict;
    }

    private static Entry? Parse(string line)
    {
        var rest = line.AsSpan().TrimStart(" \t");
        if (rest.IsEmpty || rest[0] == '#') return null;
        var marker = Marker.None;
        if (rest[0] == '@')
        {
            var word = NextField(ref rest);
            if (word.SequenceEqual("@cert-authority")) marker = Marker.CertAuthority;
            else if (word.SequenceEqual("@revoked")) marker = Marker.Revoked;
            else return null;
        }
        var hosts = NextField(ref rest).ToString();
        var type = NextField(ref rest).ToString();
        var base64 = NextField(ref rest).ToString();
        if (hosts.Length == 0 || type.Length == 0 || base64.Length == 0) return null;
        byte[] blob;
        try { blob = Convert.FromBase64String(base64); }
        catch (FormatException) { return null; }
        // The key's own type (the blob's first string) must be the one the line names, or ssh ignores the line.
        if (BlobType(blob) != type) return null;
        return new Entry(marker, hosts, type, blob);
    }

    /// <summary>The algorithm name a public key blob starts with (SSH string: uint32 length, bytes).</summary>
    public static string? BlobType(byte[] blob)
    {
        if (blob.Length < 4) return null;
        var length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        if (length <= 0 || length > 64 || 4 + length > blob.Length) return null;
        return Encoding.ASCII.GetString(blob, 4, length);
    }

    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(" \t");
        var end = rest.IndexOfAny(' ', '\t');
        var field = end < 0 ? rest : rest[..end];
        rest = end < 0 ? ReadOnlySpan<char>.Empty : rest[end..];
        return field;
    }

    /// <summary>ssh's match for a host field: a hashed name, or a pattern list where a matching negation excludes.</summary>
    private static bool Matches(string hosts, string name)
    {
        if (hosts.StartsWith("|1|", StringComparison.Ordinal)) return HashedMatches(hosts, name);
        var positive = false;
        foreach (var part in hosts.Split(','))
        {
            var negated = part.StartsWith('!');
            var pattern = (negated ? part[1..] : part).ToLowerInvariant();
            if (!Wildcard(pattern, name)) continue;
            if (negated) return false;
            positive = true;
        }
        return positive;
    }

    private static bool HashedMatches(string field, string name)
    {
        var parts = field[3..].Split('|');
        if (parts.Length != 2) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[0]);
            var hash = Convert.FromBase64String(parts[1]);
            if (salt.Length != 20 || hash.Length != 20) return false;
            var mine = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(name));
            return CryptographicOperations.FixedTimeEquals(mine, hash);
        }
        catch (FormatException) { return false; }
    }

    /// <summary>Glob match of the whole name: * any run of characters, ? exactly one.</summary>
    private static bool Wildcard(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
