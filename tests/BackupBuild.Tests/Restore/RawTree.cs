using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// A tree as its exact bytes: every name listed with readdir (never through .NET's file APIs, which would
/// turn bytes that are not UTF-8 into U+FFFD), each entry with its kind, mode, content hash and size, or link
/// target. Keys and link targets are shown with every byte that is not printable ASCII (and '\') as \xNN,
/// so two different byte names never give the same key.
/// </summary>
public static class RawTree
{
    public static SortedDictionary<string, string> Of(string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(root, "", result);
        return result;
    }

    /// <summary>Exact bytes as text: printable ASCII as is, everything else (and '\') as \xNN.</summary>
    public static string Show(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
            s.Append(b is >= 0x20 and < 0x7F and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}");
        return s.ToString();
    }

    public static string Show(string name) => Show(PosixPath.Encode(name));

    /// <summary>The bytes of a file named by a <see cref="PosixPath"/> name, read by its exact bytes.</summary>
    public static byte[] Read(string path)
    {
        using var s = Posix.OpenReadStream(path, out var errno, 1 << 16)
            ?? throw new Xunit.Sdk.XunitException($"cannot open {PosixPath.Display(path)}: {Posix.ErrorText(errno)}");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private static void Walk(string dir, string relative, SortedDictionary<string, string> result)
    {
        var names = Posix.ReadDirectory(dir, out var errno)
            ?? throw new Xunit.Sdk.XunitException($"cannot list {PosixPath.Display(dir)}: {Posix.ErrorText(errno)}");
        foreach (var raw in names)
        {
            var name = PosixPath.Decode(raw);
            var path = dir + "/" + name;
            var key = relative + Show(raw);
            var st = Posix.LStat(path, out errno) ?? throw new Xunit.Sdk.XunitException($"lstat {PosixPath.Display(path)}: {Posix.ErrorText(errno)}");
            if (st.IsDirectory)
            {
                result[key + "/"] = "dir";
                Walk(path, key + "/", result);
            }
            else if (st.IsSymlink)
                result[key] = "link -> " + Show(Posix.ReadLink(path, out _) ?? "?");
            else
            {
                result[key] = File(st.Permissions, Read(path), st.MtimeSeconds);
            }
        }
    }

    /// <summary>How <see cref="Of"/> describes a file.</summary>
    public static string File(uint mode, byte[] data, long mtime) =>
        $"file {Convert.ToString(mode, 8)} {data.Length} {mtime} {Convert.ToHexString(SHA256.HashData(data))[..16]}";

    public static string Diff(IDictionary<string, string> expected, IDictionary<string, string> actual)
    {
        var lines = new List<string>();
        foreach (var (k, v) in expected)
            if (!actual.TryGetValue(k, out var a)) lines.Add($"missing: {k} ({v})");
            else if (a != v) lines.Add($"differs: {k}: expected {v}, got {a}");
        foreach (var k in actual.Keys.Where(k => !expected.ContainsKey(k))) lines.Add($"extra: {k} ({actual[k]})");
        return string.Join("\n", lines);
    }
}
