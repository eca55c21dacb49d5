using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>Odd things in a collected folder: what Collect does with each (docs/reliability.md, "Odd inputs").</summary>
public sealed class OddInputTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Symlink_loops_fifos_and_sockets_neither_hang_nor_fail_Collect_and_are_left_out_or_stored_as_links()
    {
        var src = _t.Dir("src");
        _t.File("src/data.txt", "data");
        File.CreateSymbolicLink(_t["src/loop-a"], _t["src/loop-b"]);
        File.CreateSymbolicLink(_t["src/loop-b"], _t["src/loop-a"]);
        _t.Dir("src/sub");
        Directory.CreateSymbolicLink(_t["src/sub/up"], src); // a folder link back to the top: a cycle
        Assert.Equal(0, Tool.Run("mkfifo", _t["src/pipe"]).ExitCode);
        var sock = Tool.Run("/usr/bin/python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", _t["src/sock"]);
        Assert.True(sock.ExitCode == 0, sock.All);
        var p = new BackupProject(_t.Path)
            .Item("CollectDirectory", src, ("ArchiveMode", "tar"), ("LinkDepth", "3"));

        var r = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");

        Assert.True(r.ExitCode == 0, r.All);
        var names = TarListing.Names(Directory.GetFiles(p.CollectDir, "*.tar").Single());
        Assert.Contains(names, n => n.EndsWith("/src/data.txt"));
        Assert.DoesNotContain(names, n => n.EndsWith("/pipe") || n.EndsWith("/sock"));
        Assert.True(names.Count < 50, "the folder cycle was followed without end: " + names.Count + " entries");
    }
}
