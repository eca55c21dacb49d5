using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Restore's writing machinery (issue 20 point 4): the writer threads, one per folder, write every handed-over file
/// completely, with its mode and time, under its final name only when complete; the early flushes run every step's
/// bytes on a thread of their own.
/// </summary>
[Trait("Tier", "Fast")]
public class RestoreWritersTests
{
    [Fact]
    public void Two_writers_write_every_file_of_many_folders_completely_with_mode_and_time_and_report_each_once()
    {
        using var t = new TempDir();
        var to = t.Dir("to");
        using var extractor = new SafeExtractor(to, overwrite: false);
        var expected = new Dictionary<string, byte[]>();
        var rng = new Random(4204);
        using (var writes = new ParallelWrites(extractor, workers: 2))
        {
            for (var d = 0; d < 16; d++)
            for (var i = 0; i < 40; i++)
            {
                var rel = $"srv/d{d:D2}/f{i:D2}.bin";
                var data = new byte[rng.Next(0, 70_000)];
                rng.NextBytes(data);
                expected[rel] = data;
                var member = new TarMember(rel, TarMemberKind.File, data.Length, 0x1A4, 0, 0, "", "", 1_700_000_000 + i, "");
                Assert.Equal(SafeExtractor.Outcome.Written, extractor.Prepare(rel, out var place, out _));
                writes.Submit(place!, member, new MemoryStream(data), rel);
            }
            writes.Drain();
            var done = writes.TakeDone();
            Assert.Equal(expected.Count, done.Count);
            Assert.All(done, d => Assert.Null(d.Error));
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), done.Select(d => d.Rel).Order(StringComparer.Ordinal));
        }
        foreach (var (rel, data) in expected)
        {
            var path = Path.Combine(to, rel);
            Assert.Equal(data, File.ReadAllBytes(path));
            Assert.Equal((UnixFileMode)0x1A4, File.GetUnixFileMode(path));
            Assert.Equal(1_700_000_000 + int.Parse(Path.GetFileNameWithoutExtension(rel)[1..]),
                new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds());
        }
        Assert.Empty(Directory.EnumerateFiles(to, Beneath.TempPrefix + "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }));
    }

    [Fact]
    public void A_reused_content_buffer_gives_each_file_exactly_its_own_bytes()
    {
        using var t = new TempDir();
        var to = t.Dir("to");
        using var extractor = new SafeExtractor(to, overwrite: false);
        var expected = new List<(string Rel, byte[] Data)>();
        using (var writes = new ParallelWrites(extractor, workers: 1))
        {
            // Long and short members of one bucket alternately, each written (and its buffer given back) before the next.
            foreach (var (length, fill) in new[] { (60_000, (byte)0xAA), (33_000, (byte)0x11), (0, (byte)0), (65_536, (byte)0xBB), (1, (byte)0x22), (1 << 20, (byte)0xCC), (600_000, (byte)0x33) })
            {
                var rel = $"f{expected.Count}.bin";
                var data = Enumerable.Repeat(fill, length).ToArray();
                expected.Add((rel, data));
                Assert.Equal(SafeExtractor.Outcome.Written, extractor.Prepare(rel, out var place, out _));
                writes.Submit(place!, new TarMember(rel, TarMemberKind.File, length, 0x180, 0, 0, "", "", 1_700_000_000, ""), new MemoryStream(data), rel);
                writes.Drain();
                Assert.All(writes.TakeDone(), d => Assert.Null(d.Error));
            }
        }
        foreach (var (rel, data) in expected) Assert.Equal(data, File.ReadAllBytes(Path.Combine(to, rel)));
    }

    [Fact]
    public void The_hand_off_between_threads_keeps_order_waits_for_room_and_ends_when_complete()
    {
        var queue = new HandOff<int>(capacity: 2);
        var taken = new List<int>();
        var consumer = new Thread(() =>
        {
            while (queue.Take(out var i)) taken.Add(i);
        });
        consumer.Start();
        for (var i = 0; i < 10_000; i++) Assert.True(queue.Add(i)); // waits for room whenever two are queued
        queue.Complete();
        Assert.True(consumer.Join(TimeSpan.FromMinutes(1)));
        Assert.Equal(Enumerable.Range(0, 10_000), taken);
        Assert.False(queue.Add(1)); // nothing is added once complete
        Assert.False(queue.Take(out _));

        // A producer waiting for room is let go by Complete (what disposing the read-ahead stream relies on).
        var full = new HandOff<int>(capacity: 1);
        Assert.True(full.Add(1));
        var added = true;
        var producer = new Thread(() => added = full.Add(2));
        producer.Start();
        Thread.Sleep(100);
        full.Complete();
        Assert.True(producer.Join(TimeSpan.FromMinutes(1)));
        Assert.False(added);
        Assert.True(full.Take(out var left) && left == 1); // what was queued is still taken
        Assert.False(full.Take(out _)); // complete and empty: false at once
    }

    [Fact]
    public void Early_flushes_start_once_a_step_of_bytes_is_restored_and_stop_when_disposed()
    {
        using var t = new TempDir();
        var fd = Beneath.OpenRoot(t.Dir("to"), out var errno);
        Assert.True(fd >= 0, $"errno {errno}");
        try
        {
            var flush = EarlyFlush.For(fd, step: 1000);
            Assert.NotNull(flush);
            using (flush)
            {
                flush!.Add(600);
                Thread.Sleep(200);
                Assert.Equal(0, flush.Flushes); // less than a step
                flush.Add(600);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (flush.Flushes == 0 && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(10);
                Assert.Equal(1, flush.Flushes);
            }
            // The final flush through the destination's own descriptor still works after the flusher closed its own.
            Assert.True(Beneath.SyncFileSystem(fd, out errno), $"errno {errno}");
        }
        finally
        {
            Beneath.Close(fd);
        }
    }
}
