using System.Security.Cryptography;
using System.Text.Json;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// What the three readers a restore may use (GNU tar, bsdtar, and Python's tarfile, which Cedar Backup's
/// own tools use) make of an archive, compared with the files it was written from.
/// </summary>
internal static class ArchiveReaders
{
    public const string Python = "/usr/bin/python3";

    // One JSON line per member, with a SHA-256 of each regular file's content unless told not to read it.
    private const string ListScript = """
        import sys, tarfile, json, hashlib
        read_content = sys.argv[3] == "content"
        with tarfile.open(sys.argv[1], sys.argv[2], encoding="utf-8") as t:
            for m in t:
                d = dict(name=m.name, type=m.type.decode(), linkname=m.linkname, mode=m.mode, uid=m.uid,
                         gid=m.gid, uname=m.uname, gname=m.gname, mtime=m.mtime, size=m.size)
                if m.isreg() and read_content:
                    d["sha256"] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
                print(json.dumps(d))
        """;

    public sealed record Member(string Name, string Type, string LinkName, int Mode, long Uid, long Gid,
        string UName, string GName, long MTime, long Size, string? Sha256);

    /// <summary>Environment for the readers: UTC times and a UTF-8 locale, whatever the machine's.</summary>
    private static readonly Dictionary<string, string?> Env = new() { ["TZ"] = "UTC", ["LC_ALL"] = "C.UTF-8" };

    public static Tool.Result Run(string program, params string[] args)
    {
        Tool.Require(program.Split('/')[^1]);
        var r = Tool.RunWith(null, Env, TimeSpan.FromMinutes(5), program, args);
        Assert.True(r.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {r.ExitCode}: {r.Error}");
        return r;
    }

    public static List<Member> PythonList(string archive, ArchiveFormat format, bool readContent = true)
    {
        var r = Run(Python, "-c", ListScript, archive, Archives.PythonMode(format), readContent ? "content" : "headers");
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<Member>(line, options)!).ToList();
    }

    /// <summary>The member Python should report for a source file or link.</summary>
    public static Member Expected(string path)
    {
        var s = Posix.LStat(path, out _)!.Value;
        var link = s.IsSymlink ? new FileInfo(path).LinkTarget! : "";
        return new Member(SampleTree.EntryName(path), s.IsSymlink ? "2" : "0", link, (int)s.Permissions,
            s.Uid, s.Gid, Posix.UserName(s.Uid), Posix.GroupName(s.Gid), s.MtimeSeconds,
            s.IsSymlink ? 0 : s.Size, s.IsSymlink ? null : Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }

    public static void AssertPythonReads(string archive, ArchiveFormat format, IReadOnlyList<string> sources)
    {
        var members = PythonList(archive, format);
        Assert.Equal(sources.Select(SampleTree.EntryName), members.Select(m => m.Name));
        foreach (var (source, member) in sources.Zip(members))
            Assert.Equal(Expected(source), member);
    }

    /// <summary>Extracts with GNU tar, keeping modes and numeric owners, and compares with the sources.</summary>
    public static void AssertGnuTarExtracts(string archive, ArchiveFormat format, IReadOnlyList<string> sources, string into)
    {
        Directory.CreateDirectory(into);
        Run("tar", [.. Archives.TarCompressionOption(format), "-x", "-p", "--numeric-owner", "-f", archive, "-C", into]);
        AssertSameFiles(sources, into);
    }

    public static void AssertBsdtarExtracts(string archive, IReadOnlyList<string> sources, string into)
    {
        Directory.CreateDirectory(into);
        Run("bsdtar", "-x", "-p", "--numeric-owner", "-f", archive, "-C", into);
        AssertSameFiles(sources, into);
    }

    /// <summary>Every source is present under <paramref name="root"/> with its type, content or target, mode, owner and time.</summary>
    public static void AssertSameFiles(IReadOnlyList<string> sources, string root)
    {
        foreach (var source in sources)
        {
            var copy = Path.Combine(root, SampleTree.EntryName(source));
            var s = Posix.LStat(source, out _)!.Value;
            var c = Posix.LStat(copy, out var errno);
            Assert.True(c is not null, $"{copy} was not extracted (errno {errno})");
            var d = c.Value;
            var what = $"{source}: ";
            Assert.Equal(what + s.IsSymlink, what + d.IsSymlink);
            Assert.Equal(what + Convert.ToString(s.Permissions, 8), what + Convert.ToString(d.Permissions, 8));
            Assert.Equal(what + s.Uid + ":" + s.Gid, what + d.Uid + ":" + d.Gid);
            Assert.Equal(what + s.MtimeSeconds, what + d.MtimeSeconds);
            if (s.IsSymlink)
                Assert.Equal(new FileInfo(source).LinkTarget, new FileInfo(copy).LinkTarget);
            else
                Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
        }
    }
}
