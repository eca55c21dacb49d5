using System.IO.Compression;
using System.Text.Json;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// The list of what each archive holds that Collect writes into the manifest ("members"): Find lists versions from it
/// without reading the archive, Restore's hole check uses it instead of reading every archive twice; a manifest
/// without it (older days) is read as before, a damaged one is BKP4200 and the archive is read, and one that promises
/// files the archive does not hold fails the restore with BKP4201. Collect, Find and Restore in-process, real files.
/// </summary>
[Trait("Tier", "Fast")]
public class ManifestMembersTests
{
    private const long T0 = 1_780_000_000L;
    private const string Peer = "pool1";

    private static string DayDir(TempDir t) => t["staging/2026/11/24/" + Peer];

    /// <summary>Collects <paramref name="src"/> (targz, daily) in-process and stages the collect dir as the peer's 2026-11-24.</summary>
    private static void CollectAndStage(TempDir t, string src)
    {
        var engine = new FakeBuildEngine();
        var collect = new CollectArchives
        {
            BuildEngine = engine,
            CollectDirectories = new[] { PropsDefaults.Defined("CollectDirectory", src, ("CollectMode", "daily"), ("ArchiveMode", "targz")) },
            CollectDir = t["var/collect"],
            WorkingDir = t["var/work"],
            RunSettings = PropsDefaults.Run("2026-11-24T01:00"),
            CollectSettings = PropsDefaults.Collect(("CompressionThreads", "2")),
        };
        Assert.True(collect.Execute(), engine.AllText);
        Directory.CreateDirectory(DayDir(t));
        foreach (var f in Directory.GetFiles(t["var/collect"])) File.Copy(f, Path.Combine(DayDir(t), Path.GetFileName(f)));
    }

    private static string ManifestPath(TempDir t) => Path.Combine(DayDir(t), CollectManifest.FileName);

    private static CollectManifest ReadManifest(TempDir t)
    {
        using var s = File.OpenRead(ManifestPath(t));
        return CollectManifest.Read(s);
    }

    private static void WriteManifest(TempDir t, CollectManifest manifest)
    {
        using var s = File.Create(ManifestPath(t));
        using var gz = new GZipStream(s, CompressionLevel.Fastest);
        JsonSerializer.Serialize(gz, manifest, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
    }

    private static string Archive(TempDir t) => Directory.GetFiles(DayDir(t), "*.tar.gz").Single();

    private static (FakeBuildEngine Engine, bool Ok, List<string> Versions) Find(TempDir t, string pattern)
    {
        var engine = new FakeBuildEngine();
        var task = new FindFiles { BuildEngine = engine, Pattern = pattern, StagingDir = t["staging"], RestoreSettings = PropsDefaults.Restore() };
        var ok = task.Execute();
        return (engine, ok, task.Versions.Select(v => string.Join("|", v.ItemSpec, v.GetMetadata("Peer"), v.GetMetadata("Day"),
            v.GetMetadata("Size"), v.GetMetadata("Kind"), v.GetMetadata("Archive"))).Order(StringComparer.Ordinal).ToList());
    }

    private static (FakeBuildEngine Engine, bool Ok) Restore(TempDir t, string to, bool dryRun = false)
    {
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles { BuildEngine = engine, Peer = Peer, Destination = to, StagingDir = t["staging"],
            RestoreSettings = PropsDefaults.Restore(("RestoreDryRun", dryRun ? "true" : "false")) };
        return (engine, task.Execute());
    }

    private static void Time(string path, long seconds) =>
        Assert.Equal(0, Tool.Run("touch", "-h", "-d", "@" + seconds, path).ExitCode);

    /// <summary>A small tree: files of several sizes, modes and times in nested folders, a symbolic link, an odd name.</summary>
    private static string Tree(TempDir t)
    {
        var src = t.Dir("src/tree");
        for (var i = 0; i < 30; i++)
        {
            var f = t.File($"src/tree/d{i % 3}/sub{i % 2}/f{i:D2}.txt", new string((char)('a' + i % 26), i * 37));
            File.SetUnixFileMode(f, (UnixFileMode)(i % 2 == 0 ? 0b110_100_100 : 0b111_101_000));
            Time(f, T0 + i);
        }
        File.WriteAllBytes(t.File("src/tree/report.txt"), "needle\n"u8.ToArray());
        File.WriteAllBytes(t.File("src/tree/d1/report.txt"), "another needle, longer\n"u8.ToArray());
        File.CreateSymbolicLink(Path.Combine(src, "d2/report.txt"), "../report.txt");
        var odd = PosixPath.Encode(src + "/caf") .Concat(new byte[] { 0xE9 }).Concat(".txt"u8.ToArray()).ToArray();
        File.WriteAllBytes(PosixPath.Decode(odd), "latin-1 name\n"u8.ToArray());
        foreach (var d in Directory.GetDirectories(src, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length)) Time(d, T0 + 500);
        return src;
    }

    [Fact]
    public void Collect_lists_each_archive_member_and_Find_lists_versions_from_it_without_reading_the_archive()
    {
        using var t = new TempDir();
        var src = Tree(t);
        CollectAndStage(t, src);

        var item = ReadManifest(t).Items.Single();
        var members = ManifestMembers.Read(item)!;
        Assert.Equal(34, members.Count); // 30 + 2 reports + the link + the Latin-1 name
        Assert.Contains(new ManifestMembers.Member(src.TrimStart('/') + "/report.txt", false, 7), members);
        Assert.Contains(new ManifestMembers.Member(src.TrimStart('/') + "/d2/report.txt", true, 0), members);
        Assert.Contains(members, m => m.Name.Contains("/caf") && m.Size == 13);

        var fromArchive = Find(t, "report.txt");
        Assert.True(fromArchive.Ok, fromArchive.Engine.AllText);
        Assert.Equal(3, fromArchive.Versions.Count);

        // The archive is not read: garbage under its name changes nothing in what Find lists.
        var archive = Archive(t);
        var intact = File.ReadAllBytes(archive);
        File.WriteAllBytes(archive, new byte[intact.Length]);
        var fromList = Find(t, "report.txt");
        Assert.True(fromList.Ok, fromList.Engine.AllText);
        Assert.Empty(fromList.Engine.Warnings);
        Assert.Equal(fromArchive.Versions, fromList.Versions);
    }

    [Theory]
    [InlineData("absent")]
    [InlineData("garbage")]
    [InlineData("out of range")]
    [InlineData("listed twice")]
    [InlineData("cut inside a number")]
    public void Without_a_readable_member_list_Find_and_Restore_read_the_archive_and_stay_right(string how)
    {
        using var t = new TempDir();
        var src = Tree(t);
        CollectAndStage(t, src);
        var expected = Find(t, "*.txt").Versions;
        Assert.Equal(34, expected.Count); // the 30, two reports, the link, the Latin-1 name

        var manifest = ReadManifest(t);
        var item = manifest.Items.Single();
        var list = item.Members!;
        item.Members = how switch
        {
            "absent" => null,
            "garbage" => new byte[] { 0xFF, 0xFF, 0xFF },
            "out of range" => list.Concat(new byte[] { 0xC8, 0x01, 0x02 }).ToArray(), // path 100 of 33
            "listed twice" => list.Concat(list[..2]).ToArray(),
            _ => list.Concat(new byte[] { 0x80 }).ToArray(),
        };
        WriteManifest(t, manifest);

        var found = Find(t, "*.txt");
        Assert.True(found.Ok, found.Engine.AllText);
        Assert.Equal(expected, found.Versions);
        if (how == "absent") Assert.Empty(found.Engine.Warnings);
        else Assert.Equal(new[] { "BKP4200" }, found.Engine.WarningCodes);

        var to = t["restore"];
        var restored = Restore(t, to);
        Assert.True(restored.Ok, restored.Engine.AllText);
        SameTree(src, to + src);
    }

    [Fact]
    public void A_whole_tree_comes_back_identical_with_modes_and_times_and_is_synced_before_success()
    {
        using var t = new TempDir();
        var src = Tree(t);
        CollectAndStage(t, src);
        var to = t["restore"];
        var (engine, ok) = Restore(t, to);
        Assert.True(ok, engine.AllText);
        Assert.Empty(engine.Warnings);
        Assert.DoesNotContain("BKP4202", engine.ErrorCodes);
        SameTree(src, to + src);
        Assert.Contains(engine.Messages, m => m.Message!.StartsWith("Restore finished: 34 files"));
    }

    [Fact]
    public void A_member_list_that_promises_a_file_the_archive_lacks_fails_the_restore_with_BKP4201()
    {
        using var t = new TempDir();
        var src = Tree(t);
        CollectAndStage(t, src);
        var manifest = ReadManifest(t);
        var item = manifest.Items.Single();
        var promised = src.TrimStart('/') + "/promised-but-not-archived.txt";
        item.Paths.Add(promised);
        // The new path's token (its index in "paths" times 2), size 5, a regular file.
        item.Members = item.Members!.Concat(Varint((ulong)(item.Paths.Count - 1) * 2)).Concat(Varint(10)).ToArray();
        WriteManifest(t, manifest);

        var to = t["restore"];
        var (engine, ok) = Restore(t, to);
        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("BKP4201", error.Code);
        Assert.Contains("/promised-but-not-archived.txt", error.Message);
        Assert.DoesNotContain(engine.Messages, m => m.Message!.Contains("Restore finished") && !m.Message.Contains("34 files"));
        // What the archive holds was restored; the promised file is not there.
        Assert.Equal("needle\n", File.ReadAllText(to + src + "/report.txt"));
        Assert.False(File.Exists(to + src + "/promised-but-not-archived.txt"));

        // A dry run says the same before anything is written.
        var dry = Restore(t, t["dry"], dryRun: true);
        Assert.False(dry.Ok);
        Assert.Contains("BKP4201", dry.Engine.ErrorCodes);
        Assert.False(Directory.Exists(t["dry"]));
    }

    [Fact]
    public void An_archive_member_that_climbs_out_is_still_refused_when_the_manifest_lists_it()
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var outside = t.Dir("outside");
        var day = t.Dir("staging/2026/11/24/" + Peer);
        t.File($"staging/2026/11/24/{Peer}/cback.collect");
        var archive = Path.Combine(day, "srv-evil.tar.gz");
        File.WriteAllText(t["make.py"], $$"""
            import io, tarfile
            def add(tar, name, data, kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = link
                info.mode = 0o644
                info.mtime = 1780000000
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            with tarfile.open('{{archive}}', "w:gz", format=tarfile.GNU_FORMAT) as tar:
                add(tar, "srv/evil/good.txt", b"honest")
                add(tar, "srv/evil/../../../../escaped-deep.txt", b"evil")
                add(tar, "{{outside}}/escaped-absolute.txt", b"evil")
            """);
        var made = Tool.Run(python, t["make.py"]);
        Assert.True(made.ExitCode == 0, made.All);
        // A manifest that lists the hostile names as present and held, with the archive's true checksum.
        var sha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(archive))).ToLowerInvariant();
        var item = new CollectManifestItem
        {
            Source = "/srv/evil", Stem = "srv-evil", Mode = "daily", Complete = true, Archive = "srv-evil.tar.gz", Sha256 = sha,
            Size = new FileInfo(archive).Length,
            Paths = new List<string> { "srv/evil/good.txt", "srv/evil/../../../../escaped-deep.txt", outside.TrimStart('/') + "/escaped-absolute.txt" },
        };
        item.Members = Varint(0).Concat(Varint(12)).Concat(Varint(2)).Concat(Varint(8)).Concat(Varint(4)).Concat(Varint(8)).ToArray();
        Directory.CreateDirectory(DayDir(t));
        WriteManifest(t, new CollectManifest { Date = "2026-11-24", Items = { item } });

        var to = t["restore"];
        var (engine, ok) = Restore(t, to);
        Assert.True(ok, engine.AllText);
        Assert.Equal(2, engine.WarningCodes.Count(c => c == "BKP8010"));
        Assert.Equal("honest", File.ReadAllText(to + "/srv/evil/good.txt"));
        // Nothing outside the destination: the file system says so.
        Assert.Empty(Directory.GetFileSystemEntries(outside));
        Assert.False(File.Exists(t["escaped-deep.txt"]));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(t.Path)!, "escaped-deep.txt")));
        Assert.Equal(new[] { "good.txt" }, Directory.GetFileSystemEntries(to + "/srv/evil").Select(Path.GetFileName));

        // Find lists the names as the list has them (it writes nothing).
        var found = Find(t, "escaped-*.txt");
        Assert.True(found.Ok, found.Engine.AllText);
        Assert.Equal(2, found.Versions.Count);
    }

    [Fact]
    public void A_truncated_archive_is_an_error_after_the_read_ahead_and_no_success_line()
    {
        using var t = new TempDir();
        var src = Tree(t);
        CollectAndStage(t, src);
        var archive = Archive(t);
        var bytes = File.ReadAllBytes(archive);
        File.WriteAllBytes(archive, bytes[..(bytes.Length / 2)]);
        var to = t["restore"];
        var (engine, ok) = Restore(t, to);
        Assert.False(ok);
        Assert.Contains("BKP8015", engine.ErrorCodes);
        // What was written from the damaged copy was taken back.
        Assert.Empty(Directory.GetFiles(to, "*", SearchOption.AllDirectories));
    }

    /// <summary>Every file and link of the restored tree as in the source (content, mode, time, owner), and each folder's mode and time.</summary>
    private static void SameTree(string src, string restored)
    {
        var expected = TreeState.Of(src);
        var actual = TreeState.Of(restored);
        Assert.True(expected.Count > 0);
        Assert.True(TreeState.Diff(expected, actual).Length == 0, TreeState.Diff(expected, actual));
        foreach (var d in Directory.GetDirectories(src, "*", SearchOption.AllDirectories))
        {
            var a = Posix.LStat(d, out _)!.Value;
            var b = Posix.LStat(restored + d[src.Length..], out _)!.Value;
            Assert.Equal((a.Permissions, a.MtimeSeconds), (b.Permissions, b.MtimeSeconds));
        }
    }

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        bytes.Add((byte)value);
        return bytes.ToArray();
    }
}
