using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// An archive whose members try to leave the destination — "../", absolute names, a symlink planted to lead
/// outside and then written through, a hard link to a file outside — restores nothing outside it, says so
/// with a coded warning for each, and still restores its honest members.
/// </summary>
[Trait("Tier", "Fast")]
public class UnsafeArchiveTests
{
    [Fact]
    public void Members_that_climb_out_of_the_destination_are_refused_and_reported()
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var outside = t.Dir("outside");
        var peerDir = t.Dir("staging/2026/11/24/evil");
        t.File("staging/2026/11/24/evil/cback.collect");
        var archive = Path.Combine(peerDir, "srv-evil.tar.gz");
        var script = $$"""
            import io, tarfile
            def add(tar, name, data=b"x", kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = link
                info.mode = 0o644
                info.mtime = 1780000000
                if kind == tarfile.REGTYPE:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    tar.addfile(info)
            with tarfile.open({{Py(archive)}}, "w:gz", format=tarfile.GNU_FORMAT) as tar:
                add(tar, "srv/evil/good.txt", b"honest")
                add(tar, "../escaped-parent.txt")
                add(tar, "srv/evil/../../../../escaped-deep.txt")
                add(tar, {{Py(outside + "/escaped-absolute.txt")}})
                add(tar, "srv/evil/link-out", kind=tarfile.SYMTYPE, link={{Py(outside)}})
                add(tar, "srv/evil/link-out/escaped-through-link.txt")
                add(tar, "srv/evil/rel-out", kind=tarfile.SYMTYPE, link="../../../../outside")
                add(tar, "srv/evil/rel-out/escaped-through-relative-link.txt")
                add(tar, "srv/evil/hard-out", kind=tarfile.LNKTYPE, link={{Py(outside + "/secret")}})
            """;
        File.WriteAllText(t["make.py"], script);
        File.WriteAllText(Path.Combine(outside, "secret"), "secret");
        var made = Tool.Run(python, t["make.py"]);
        Assert.True(made.ExitCode == 0, made.All);

        var to = t["restore"];
        var engine = new FakeBuildEngine();
        var task = new RestoreFiles
        {
            BuildEngine = engine, Peer = "evil", Destination = to, StagingDir = t["staging"], RestoreSettings = PropsDefaults.Restore(),
        };
        Assert.True(task.Execute(), engine.AllText);

        // Only the honest file and the two links themselves (links are data; nothing is written through them).
        Assert.Equal("honest", File.ReadAllText(Path.Combine(to, "srv/evil/good.txt")));
        Assert.Equal(new[] { "secret" }, Directory.GetFiles(outside).Select(Path.GetFileName));
        Assert.False(File.Exists(t["escaped-parent.txt"]));
        Assert.False(File.Exists("/escaped-deep.txt"));
        Assert.Empty(Directory.GetFiles(t.Path, "escaped*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(to, "srv/evil/hard-out")));

        var codes = engine.WarningCodes.ToList();
        Assert.Equal(3, codes.Count(c => c == "BKP8010"));  // "../", climbing "..", absolute
        Assert.Equal(2, codes.Count(c => c == "BKP8011"));  // through an absolute and a relative link
        Assert.Equal(1, codes.Count(c => c == "BKP8014"));  // a hard link to a file that was not restored here
        Assert.Contains("escaped-through-link.txt", engine.AllText);
        Assert.Contains("srv-evil.tar.gz", engine.AllText);
        Assert.Contains("6 members refused", engine.AllText);
    }

    [Fact]
    public void A_symlink_already_in_the_destination_is_not_written_through_and_an_existing_link_is_replaced_not_followed()
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var outside = t.Dir("outside");
        File.WriteAllText(Path.Combine(outside, "target.txt"), "untouched");
        var peerDir = t.Dir("staging/2026/11/24/peer");
        File.WriteAllText(t["make.py"], $$"""
            import io, tarfile
            with tarfile.open({{Py(Path.Combine(peerDir, "data.tar"))}}, "w", format=tarfile.GNU_FORMAT) as tar:
                for name in ["data/dir/file.txt", "data/file.txt"]:
                    info = tarfile.TarInfo(name); info.size = 3; info.mtime = 1780000000
                    tar.addfile(info, io.BytesIO(b"new"))
            """);
        Assert.Equal(0, Tool.Run(python, t["make.py"]).ExitCode);
        var to = t.Dir("restore");
        Directory.CreateDirectory(Path.Combine(to, "data"));
        File.CreateSymbolicLink(Path.Combine(to, "data/dir"), outside);
        File.CreateSymbolicLink(Path.Combine(to, "data/file.txt"), Path.Combine(outside, "target.txt"));

        var engine = new FakeBuildEngine();
        var task = new RestoreFiles { BuildEngine = engine, Peer = "peer", Destination = to, StagingDir = t["staging"],
            RestoreSettings = PropsDefaults.Restore(("RestoreOverwrite", "true")) };
        Assert.True(task.Execute(), engine.AllText);
        Assert.Equal("untouched", File.ReadAllText(Path.Combine(outside, "target.txt")));
        Assert.Single(Directory.GetFiles(outside));
        Assert.Contains("BKP8011", engine.WarningCodes);
        // The link at the file's own name was replaced by the file (removed, never followed).
        Assert.Null(new FileInfo(Path.Combine(to, "data/file.txt")).LinkTarget);
        Assert.Equal("new", File.ReadAllText(Path.Combine(to, "data/file.txt")));
    }

    private static string Py(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
