using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>Odd things in a collected folder: what Collect does with each (docs/reliability.md, "Odd inputs").</summary>
public sealed class OddInputTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Files_that_vanish_or_are_replaced_between_the_walk_and_the_read_are_warnings_and_no_link_is_followed()
    {
        // Deterministic race: a target of the test's own runs after the stamp's walk and before Collect reads. The stamp
        // task walks only when the last collect is still in place (else Collect walks as it reads): a day's collect first.
        var src = _t.Dir("src");
        _t.File("src/stays.txt", "stays");
        _t.File("src/vanishes.txt", "gone soon");
        _t.File("src/to-fifo.txt", "becomes a fifo");
        _t.File("src/to-link.txt", "becomes a link to a secret");
        var secret = _t.File("secret.txt", "SECRET CONTENT");
        var p = new BackupProject(_t.Path)
            .Item("CollectDirectory", src, ("ArchiveMode", "tar"))
            .Targets($"""
                <Target Name="MeddleAfterWalk" AfterTargets="_BackupCollectStamp" Condition="'$(Meddle)' == 'true'">
                  <Delete Files="{src}/vanishes.txt;{src}/to-fifo.txt;{src}/to-link.txt" />
                  <Exec Command="mkfifo '{src}/to-fifo.txt' &amp;&amp; ln -s '{secret}' '{src}/to-link.txt'" />
                </Target>
                """);

        Assert.Equal(0, p.Run("Collect", "BackupRunDate=2026-11-23T01:00").ExitCode);
        var r = p.Run("Collect", "BackupRunDate=2026-11-24T01:00", "Meddle=true");

        Assert.True(r.ExitCode == 0, r.All);
        var warnings = r.Output.Split('\n').Where(l => l.Contains("warning BKP2004")).Distinct().ToList();
        foreach (var name in new[] { "vanishes.txt", "to-fifo.txt", "to-link.txt" })
            Assert.Contains(warnings, l => l.Contains(src + "/" + name));
        var archive = Directory.GetFiles(p.CollectDir, "*.tar").Single();
        var names = TarListing.Names(archive);
        Assert.Contains(names, n => n.EndsWith("/src/stays.txt"));
        Assert.DoesNotContain(names, n => n.EndsWith("/vanishes.txt") || n.EndsWith("/to-fifo.txt") || n.EndsWith("/to-link.txt"));
        Assert.DoesNotContain("SECRET CONTENT", System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(archive)));
        Assert.True(File.Exists(Path.Combine(p.CollectDir, "cback.collect")));
    }

    [Fact]
    public void Symlink_loops_fifos_sockets_and_devices_neither_hang_nor_fail_Collect_and_are_left_out_or_stored_as_links()
    {
        var src = _t.Dir("src");
        _t.File("src/data.txt", "data");
        File.CreateSymbolicLink(_t["src/loop-a"], _t["src/loop-b"]);
        File.CreateSymbolicLink(_t["src/loop-b"], _t["src/loop-a"]);
        _t.Dir("src/sub");
        Directory.CreateSymbolicLink(_t["src/sub/up"], src); // a folder link back to the top: a cycle
        Assert.Equal(0, Tool.Run("mkfifo", _t["src/pipe"]).ExitCode);
        // Device nodes: tests run as root (CI does); mknod needs it.
        var dev = Tool.Run("mknod", _t["src/null-device"], "c", "1", "3");
        Assert.True(dev.ExitCode == 0, dev.All);
        var sock = Tool.Run("/usr/bin/python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", _t["src/sock"]);
        Assert.True(sock.ExitCode == 0, sock.All);
        var p = new BackupProject(_t.Path)
            .Item("CollectDirectory", src, ("ArchiveMode", "tar"), ("LinkDepth", "3"));

        var r = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");

        Assert.True(r.ExitCode == 0, r.All);
        var names = TarListing.Names(Directory.GetFiles(p.CollectDir, "*.tar").Single());
        Assert.Contains(names, n => n.EndsWith("/src/data.txt"));
        Assert.DoesNotContain(names, n => n.EndsWith("/pipe") || n.EndsWith("/sock") || n.EndsWith("/null-device"));
        Assert.True(names.Count < 50, "the folder cycle was followed without end: " + names.Count + " entries");
    }
}
