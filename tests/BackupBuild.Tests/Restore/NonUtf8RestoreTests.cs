using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// -t:Restore and -t:Find through the real `dotnet msbuild` on a staged day whose archive (written by Python's
/// tarfile) and manifest (rawPaths) hold names and link targets that are not UTF-8: they come back with their
/// exact bytes, are selected by a RestorePath and listed by Find in their \xNN form, and an existing one is
/// kept or overwritten like any other file.
/// </summary>
public class NonUtf8RestoreTests
{
    private const string ManifestScript = """
        import base64, gzip, json, sys
        names = [l for l in open(sys.argv[2], 'rb').read().split(b'\0') if l]
        paths, raw = [], []
        for n in names:
            try: paths.append(n.decode('utf-8'))
            except UnicodeDecodeError: raw.append(base64.b64encode(n).decode())
        item = {'source': '/srv', 'stem': 'srv-odd', 'mode': 'daily', 'complete': True, 'archive': 'srv-odd.tar.gz',
                'size': 0, 'paths': paths, 'rawPaths': raw}
        with gzip.open(sys.argv[1], 'wt') as f:
            json.dump({'version': 1, 'date': '2026-11-24', 'items': [item]}, f)
        """;

    private static byte[] B(string shown) => TarReaderTests.Bytes(shown);

    [Fact]
    public void Names_that_are_not_utf8_are_restored_byte_exact_selected_and_found()
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "odd")
            .Item("Peer", "odd", ("Type", "local"), ("CollectDir", t["var/collect"]));
        var dayDir = Path.Combine(p.StagingDir, "2026/11/24/odd");
        Directory.CreateDirectory(dayDir);
        File.WriteAllText(Path.Combine(dayDir, "cback.collect"), "");
        File.WriteAllText(t["make.py"], TarReaderTests.OddNamesScript);
        var made = Tool.Run(python, t["make.py"], Path.Combine(dayDir, "srv-odd.tar.gz"), "w:gz", "GNU_FORMAT");
        Assert.True(made.ExitCode == 0, made.All);

        // The manifest lists every member but the folder: the odd ones only in rawPaths.
        var links = new[] { (Name: B(@"srv/d\xe9/link\xfe"), Target: B(@"../caf\xe9.txt\x80")),
            (Name: B(@"srv/d\xe9/long-link"), Target: "../"u8.ToArray().Concat(TarReaderTests.LongOddName[4..]).ToArray()) };
        var listed = TarReaderTests.OddFiles.Select(f => f.Name).Concat(links.Select(l => l.Name))
            .SelectMany(n => n.Append((byte)0)).ToArray();
        File.WriteAllBytes(t["names"], listed);
        File.WriteAllText(t["manifest.py"], ManifestScript);
        var manifest = Tool.Run(python, t["manifest.py"], Path.Combine(dayDir, "backupbuild-manifest.json.gz"), t["names"]);
        Assert.True(manifest.ExitCode == 0, manifest.All);

        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["srv/"] = "dir",
            ["srv/d\\xe9/"] = "dir",
            [RawTree.Show(TarReaderTests.LongOddName[..(4 + 60 + 1)])] = "dir",
        };
        foreach (var (name, data) in TarReaderTests.OddFiles) expected[RawTree.Show(name)] = RawTree.File(0x1A0 /* 0640 */, data, 1780000123);
        foreach (var (name, target) in links) expected[RawTree.Show(name)] = "link -> " + RawTree.Show(target);

        var to = t.Dir("restore");
        var run = p.Run("Restore", "RestoreTo=" + to);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning", run.Output);
        Assert.DoesNotContain("\uFFFD", run.Output);
        var got = RawTree.Of(to);
        Assert.True(RawTree.Diff(expected, got) == "", RawTree.Diff(expected, got));
        Assert.Contains("Restore finished: 7 files", run.Output);

        // A RestorePath given in the \xNN form selects the odd folder and what is under it, nothing else.
        var some = t.Dir("restore-some");
        var part = p.Run("Restore", "RestoreTo=" + some, @"RestorePath=/srv/d\xe9");
        Assert.True(part.ExitCode == 0, part.All);
        Assert.Equal(new[] { "srv/", @"srv/d\xe9/", @"srv/d\xe9/link\xfe", @"srv/d\xe9/long-link" }, RawTree.Of(some).Keys);

        // An existing odd-named file is kept and named in \xNN form; with RestoreOverwrite it is replaced.
        var odd = to + "/" + PosixPath.Decode(B(@"srv/caf\xe9.txt"));
        Assert.True(Posix.Unlink(odd, out _));
        using (var s = Posix.CreateNewStream(odd, 0x1A4, out var errno)) Assert.True(s != null, Posix.ErrorText(errno));
        var keep = p.Run("Restore", "RestoreTo=" + to, @"RestorePath=/srv/caf\xe9.txt");
        Assert.True(keep.ExitCode == 0, keep.All);
        Assert.Contains("BKP8013", keep.Output);
        Assert.Contains(@"srv/caf\xe9.txt"" exists", keep.Output);
        Assert.Empty(RawTree.Read(odd));
        var overwrite = p.Run("Restore", "RestoreTo=" + to, @"RestorePath=/srv/caf\xe9.txt", "RestoreOverwrite=true");
        Assert.True(overwrite.ExitCode == 0, overwrite.All);
        Assert.Equal("latin-1 name"u8.ToArray(), RawTree.Read(odd));
        Assert.True(RawTree.Diff(expected, RawTree.Of(to)) == "", RawTree.Diff(expected, RawTree.Of(to)));

        // Find matches and lists them in \xNN form.
        var find = p.Run("Find", "FindPattern=*.txt");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains(@"/srv/caf\xe9.txt  in ", find.Output);
        Assert.Contains(PosixPath.Display(PosixPath.Decode(TarReaderTests.LongOddName)) + "  in ", find.Output);
        Assert.Contains("/srv/ünï.txt  in ", find.Output);
        var byShown = p.Run("Find", @"FindPattern=/srv/d\xe9/*");
        Assert.True(byShown.ExitCode == 0, byShown.All);
        Assert.True(byShown.Output.Contains(@"/srv/d\xe9/link\xfe  in "), byShown.Output);
        Assert.DoesNotContain("\uFFFD", find.Output + byShown.Output);
    }

    [Fact]
    public void The_safety_rules_hold_for_odd_names_and_messages_show_them_as_escapes()
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var outside = t.Dir("outside");
        var peerDir = t.Dir("staging/2026/11/24/evil");
        File.WriteAllText(t["make.py"], """
            import io, os, sys, tarfile
            with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT, encoding='utf-8', errors='surrogateescape') as tar:
                for name in [b'srv/ok\xe9.txt', b'../up\xff.txt', b'srv/d\xe9/through.txt']:
                    info = tarfile.TarInfo(os.fsdecode(name)); info.size = 2; info.mtime = 1780000000
                    tar.addfile(info, io.BytesIO(b'hi'))
            """);
        var made = Tool.Run(python, t["make.py"], Path.Combine(peerDir, "srv.tar"));
        Assert.True(made.ExitCode == 0, made.All);
        var to = t.Dir("restore");
        Directory.CreateDirectory(Path.Combine(to, "srv"));
        // A link with an odd name, already in the destination, leading outside: nothing is written through it.
        Assert.True(Posix.Symlink(outside, to + "/" + PosixPath.Decode(B(@"srv/d\xe9")), out var errno), Posix.ErrorText(errno));

        var engine = new FakeBuildEngine();
        var task = new Tasks.Restore.RestoreFiles { BuildEngine = engine, Peer = "evil", Destination = to, StagingDir = t["staging"], RestoreSettings = PropsDefaults.Restore() };
        Assert.True(task.Execute(), engine.AllText);

        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Equal("hi"u8.ToArray(), RawTree.Read(to + "/" + PosixPath.Decode(B(@"srv/ok\xe9.txt"))));
        Assert.Contains("BKP8010", engine.WarningCodes);
        Assert.Contains("BKP8011", engine.WarningCodes);
        Assert.Contains(@"../up\xff.txt", engine.AllText);
        Assert.Contains(@"srv/d\xe9/through.txt", engine.AllText);
        Assert.Contains(@"/srv/d\xe9""", engine.AllText);
        Assert.DoesNotContain("\uFFFD", engine.AllText);
    }
}
