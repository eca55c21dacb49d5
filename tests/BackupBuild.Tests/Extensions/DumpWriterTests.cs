using BackupBuild.Tasks.Extensions.Dumps;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

[Trait("Tier", "Fast")]
public class DumpWriterTests
{
    private static DumpWriter.Outcome Write(string path, DumpCompression mode, string script) =>
        DumpWriter.Write(path, mode, "/bin/sh", new[] { "-c", script }, new Dictionary<string, string?>(),
            TimeSpan.FromSeconds(30), CancellationToken.None);

    [Theory]
    [InlineData(DumpCompression.Gzip, "out.gz")]
    [InlineData(DumpCompression.Bzip2, "out.bz2")]
    public void An_empty_output_is_still_a_valid_compressed_file(DumpCompression mode, string name)
    {
        using var dir = new TempDir();
        Assert.True(Write(dir[name], mode, "true").Succeeded);
        Assert.Equal("", DumpFiles.Text(dir[name]));
    }

    [Fact]
    public void Output_larger_than_one_unit_round_trips()
    {
        using var dir = new TempDir();
        var outcome = Write(dir["big.bz2"], DumpCompression.Bzip2, "seq 1 400000");
        Assert.True(outcome.Succeeded, outcome.Error);
        var text = DumpFiles.Text(dir["big.bz2"]);
        Assert.Equal(outcome.Bytes, text.Length);
        Assert.EndsWith("\n399999\n400000\n", text);
        Assert.EndsWith("\n399999\n400000\n", outcome.Tail);
    }

    [Fact]
    public void A_program_that_fails_half_way_leaves_neither_the_file_nor_a_temporary_one()
    {
        using var dir = new TempDir();
        var outcome = Write(dir["dump.txt"], DumpCompression.None, "seq 1 300000; echo 'broken pipe' >&2; exit 3");
        Assert.False(outcome.Succeeded);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Contains("broken pipe", outcome.Error);
        Assert.Empty(DumpFiles.In(dir.Path));
    }

    [Fact]
    public void An_output_whose_end_is_not_accepted_is_not_published()
    {
        using var dir = new TempDir();
        var outcome = DumpWriter.Write(dir["dump.sql"], DumpCompression.None, "/bin/sh", new[] { "-c", "echo BEGIN; echo ROLLBACK" },
            new Dictionary<string, string?>(), TimeSpan.FromSeconds(30), CancellationToken.None,
            acceptTail: t => t.TrimEnd().EndsWith("COMMIT;"));
        Assert.False(outcome.Succeeded);
        Assert.Equal("BEGIN\nROLLBACK\n", outcome.Tail);
        Assert.Empty(DumpFiles.In(dir.Path));
    }

    [Fact]
    public void A_program_past_its_time_is_stopped_and_leaves_no_file()
    {
        using var dir = new TempDir();
        var outcome = DumpWriter.Write(dir["slow.gz"], DumpCompression.Gzip, "/bin/sh", new[] { "-c", "echo start; sleep 30" },
            new Dictionary<string, string?>(), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.True(outcome.TimedOut);
        Assert.False(outcome.Succeeded);
        Assert.Empty(DumpFiles.In(dir.Path));
    }
}
