using System.Text;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Stage;

/// <summary>
/// The receiving end of Stage's copy over the connection (RemoteCopy "ssh"), fed with what a hostile peer's `scp -f` could
/// send: only files the listing named as regular files, at its sizes, each once, one file name each, are written; any other
/// record stops the copy before a byte of it is written. (End to end over a real sshd: SshNetStageTests, ListingFuzzEndToEndTests.)
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ScpReceiverTests : IDisposable
{
    private readonly TempDir _t = new();

    public void Dispose() => _t.Dispose();

    private static readonly RemoteEntry[] Listing =
    {
        new('f', 0, 1700000000, "cback.collect"),
        new('f', 5, 1700000100, "a.tar"),
        new('l', 10, 1700000000, "link.tar"),
    };

    private (ScpReceiver Receiver, bool Ended, byte[] Answers, string Folder) Run(byte[] sent, IEnumerable<RemoteEntry>? listing = null)
    {
        var folder = _t.Dir("temp-" + Guid.NewGuid().ToString("N")[..6]);
        using var handle = DirectoryHandle.Open(folder, followLink: false, out _)!;
        var receiver = new ScpReceiver(handle, listing ?? Listing, CancellationToken.None);
        var answers = new MemoryStream();
        var ended = receiver.Receive(answers, new MemoryStream(sent), () => { });
        return (receiver, ended, answers.ToArray(), folder);
    }

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    [Fact]
    public void Listed_files_are_written_new_with_mode_0600_the_peers_time_and_exactly_the_announced_bytes()
    {
        var (r, ended, answers, folder) = Run(Bytes("T1700000000 0 1700000000 0\nC0644 0 cback.collect\n\0T1700000100 0 1700000100 0\nC0755 5 a.tar\nhello\0"));
        Assert.True(ended, r.Failure);
        Assert.Null(r.Failure);
        Assert.Null(r.Unexpected);
        Assert.Equal(2, r.Files);
        Assert.Equal(5, r.Bytes);
        Assert.Equal(new byte[7], answers); // start, and each T, C and file acknowledged
        var a = Path.Combine(folder, "a.tar");
        Assert.Equal("hello", File.ReadAllText(a));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(a));
        Assert.Equal(1700000100, new DateTimeOffset(File.GetLastWriteTimeUtc(a)).ToUnixTimeSeconds());
    }

    [Fact]
    public void The_received_files_are_flushed_to_disk_after_the_conversation()
    {
        var folder = _t.Dir("flushed");
        using var handle = DirectoryHandle.Open(folder, followLink: false, out _)!;
        var receiver = new ScpReceiver(handle, Listing, CancellationToken.None);
        Assert.True(receiver.Receive(new MemoryStream(), new MemoryStream(Bytes("C0644 5 a.tar\nhello\0")), () => { }));
        Assert.True(receiver.FlushToDisk(out var error), error);
        // A received file swapped for a link before the flush is not followed.
        File.Delete(Path.Combine(folder, "a.tar"));
        File.CreateSymbolicLink(Path.Combine(folder, "a.tar"), _t.File("elsewhere", "x"));
        Assert.False(receiver.FlushToDisk(out error));
        Assert.Contains("cannot flush a.tar to disk", error);
    }

    [Theory]
    [InlineData("C0644 5 unlisted.tar\nhello\0", "unlisted.tar", "was not in the peer's listing as a regular file")]
    [InlineData("C0644 10 link.tar\n0123456789\0", "link.tar", "was not in the peer's listing as a regular file")]
    [InlineData("C0644 6 a.tar\nhello!\0", "a.tar", "has 6 bytes where the listing said 5")]
    [InlineData("C0644 5 ../a.tar\nhello\0", "../a.tar", "is not one file name")]
    [InlineData("C0644 5 sub/a.tar\nhello\0", "sub/a.tar", "is not one file name")]
    [InlineData("C0644 0 ..\n\0", "..", "is not one file name")]
    [InlineData("C0644 5 a.tar\nhello\0C0644 5 a.tar\nhello\0", "a.tar", "was sent twice")]
    [InlineData("D0755 0 sub\n", "sub", "is a folder")]
    public void A_file_the_listing_did_not_name_so_is_refused_before_it_is_written(string sent, string name, string reason)
    {
        var (r, ended, _, folder) = Run(Bytes(sent));
        Assert.False(ended);
        Assert.Equal(new RemoteCopyCheck.Finding(name, reason), r.Unexpected);
        Assert.False(File.Exists(Path.Combine(folder, "unlisted.tar")));
        Assert.False(File.Exists(Path.Combine(folder, "link.tar")));
        Assert.False(File.Exists(Path.Combine(_t.Path, "a.tar")));
        if (reason != "was sent twice") Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Theory]
    [InlineData("C0644 5 a.tar\nhel", "ended after 3 of 5 bytes")]
    [InlineData("C0644 5 a.tar\nhello", "without its status byte")]
    [InlineData("C0644 5 a.tar\nhello\u0001scp: a.tar: read error\n", "the peer's scp: scp: a.tar: read error")]
    [InlineData("\u0001scp: /c/x: not a regular file\n", "the peer's scp: scp: /c/x: not a regular file")]
    [InlineData("C0644 5 a.tar", "longer than 1 KiB or cut short")]
    [InlineData("C9999 5 a.tar\nhello\0", "broken file record")]
    [InlineData("C0644 -5 a.tar\nhello\0", "broken file record")]
    [InlineData("C0644 99999999999999999 a.tar\nhello\0", "broken file record")]
    [InlineData("T17x 0 0 0\n", "broken time record")]
    [InlineData("X what\n", "did not answer with the scp protocol")]
    public void A_broken_or_failed_transfer_is_a_failure_of_the_copy(string sent, string why)
    {
        var (r, ended, _, _) = Run(Bytes(sent));
        Assert.False(ended);
        Assert.Null(r.Unexpected);
        Assert.Contains(why, r.Failure);
    }

    [Fact]
    public void A_record_longer_than_1_KiB_is_refused_without_reading_on()
    {
        var (r, ended, _, _) = Run(Bytes("C0644 5 " + new string('a', 5000) + "\nhello\0"));
        Assert.False(ended);
        Assert.Contains("longer than 1 KiB", r.Failure);
    }

    [Fact]
    public void A_name_already_in_the_folder_is_never_written_through()
    {
        var folder = _t.Dir("existing");
        var outside = _t.File("outside.txt", "keep");
        File.CreateSymbolicLink(Path.Combine(folder, "a.tar"), outside);
        using var handle = DirectoryHandle.Open(folder, followLink: false, out _)!;
        var receiver = new ScpReceiver(handle, Listing, CancellationToken.None);
        Assert.False(receiver.Receive(new MemoryStream(), new MemoryStream(Bytes("C0644 5 a.tar\nhello\0")), () => { }));
        Assert.True(receiver.LocalWriteFailed);
        Assert.Equal("keep", File.ReadAllText(outside));
    }
}
