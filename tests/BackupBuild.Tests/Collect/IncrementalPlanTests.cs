using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

[Trait("Tier", "Fast")]
public class IncrementalPlanTests
{
    private static WalkEntry Entry(string path) => new(path, Posix.LStat(path, out _)!.Value);

    [Fact]
    public void State_round_trips_and_damage_is_detected()
    {
        using var t = new TempDir();
        var file = t.File("f", "x");
        var state = new Dictionary<string, FileState> { [file] = FileState.From(Posix.LStat(file, out _)!.Value, new byte[32]) };
        var path = t["s.state"];
        IncrementalState.Save(path, "2026-11-23", state);
        Assert.Equal(IncrementalState.LoadResult.Loaded, IncrementalState.TryLoad(path, out var day, out var loaded));
        Assert.Equal("2026-11-23", day);
        Assert.True(loaded[file].SameStat(Posix.LStat(file, out _)!.Value));

        var bytes = File.ReadAllBytes(path);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Equal(IncrementalState.LoadResult.Damaged, IncrementalState.TryLoad(path, out _, out _));
    }

    [Fact]
    public void Unchanged_stat_is_not_read_and_same_content_is_skipped()
    {
        using var t = new TempDir();
        var a = t.File("a", "one");
        var b = t.File("b", "two");
        var statePath = t["x.state"];
        var first = IncrementalPlan.Load(statePath, "2026-11-23", reset: true, rehashAll: false, _ => { });
        foreach (var f in new[] { a, b })
        {
            Assert.Equal(IncrementalPlan.Decision.ArchiveAndHash, first.Decide(Entry(f), _ => throw new Exception("not hashed first")));
            first.Archived(Entry(f).PathBytes, Entry(f).Stat, System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)));
        }
        first.Save();
        first.Dispose();

        // Next day: b rewritten with the same content (new mtime) and a untouched.
        File.WriteAllText(b, "two");
        File.SetLastWriteTime(b, DateTime.Now.AddMinutes(5));
        var hashed = new List<string>();
        var next = IncrementalPlan.Load(statePath, "2026-11-24", reset: false, rehashAll: false, _ => { });
        byte[] Hash(WalkEntry e) { hashed.Add(e.Path); return System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(e.Path)); }
        Assert.Equal(IncrementalPlan.Decision.Skip, next.Decide(Entry(a), Hash));
        Assert.Equal(IncrementalPlan.Decision.Skip, next.Decide(Entry(b), Hash));
        Assert.Equal(new[] { b }, hashed);
    }

    [Fact]
    public void A_second_run_the_same_day_still_archives_the_first_runs_changes()
    {
        using var t = new TempDir();
        var a = t.File("a", "v1");
        var statePath = t["x.state"];
        byte[] Hash(WalkEntry e) => System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(e.Path));

        var monday = IncrementalPlan.Load(statePath, "2026-11-23", reset: true, rehashAll: false, _ => { });
        monday.Decide(Entry(a), Hash);
        monday.Archived(Entry(a).PathBytes, Entry(a).Stat, Hash(Entry(a)));
        monday.Save();
        monday.Dispose();

        File.WriteAllText(a, "v2 changed");
        var tuesday1 = IncrementalPlan.Load(statePath, "2026-11-24", reset: false, rehashAll: false, _ => { });
        Assert.Equal(IncrementalPlan.Decision.Archive, tuesday1.Decide(Entry(a), Hash));
        tuesday1.Save();
        tuesday1.Dispose();

        // Nothing changed since the first Tuesday run, but its archive is replaced in staging by this one:
        // Cedar would archive nothing here; we archive the day's change again.
        var tuesday2 = IncrementalPlan.Load(statePath, "2026-11-24", reset: false, rehashAll: false, _ => { });
        Assert.Equal(IncrementalPlan.Decision.Archive, tuesday2.Decide(Entry(a), Hash));
    }

    [Fact]
    public void A_state_in_the_first_format_is_still_read_so_an_upgrade_archives_nothing_twice()
    {
        using var t = new TempDir();
        var b = t.File("b", "two");
        var a = t.File("a", "one");
        var path = t["old.state"];
        var body = new MemoryStream();
        using (var w = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write("BKPSTATE"u8.ToArray());
            w.Write(1);
            w.Write("2026-11-23");
            w.Write(2L);
            foreach (var f in new[] { b, a }) // version 1 was sorted by UTF-16 text; the reader sorts again
            {
                var st = Posix.LStat(f, out _)!.Value;
                w.Write(f);
                w.Write(st.Size); w.Write(st.MtimeSeconds); w.Write(st.MtimeNanos); w.Write(st.CtimeSeconds); w.Write(st.CtimeNanos); w.Write(st.Inode);
                w.Write(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)));
            }
        }
        File.WriteAllBytes(path, body.ToArray().Concat(System.Security.Cryptography.SHA256.HashData(body.ToArray())).ToArray());

        var plan = IncrementalPlan.Load(path, "2026-11-24", reset: false, rehashAll: false, _ => throw new Exception("damaged"));
        Assert.Equal(IncrementalPlan.Decision.Skip, plan.Decide(Entry(a), _ => throw new Exception("not hashed")));
        Assert.Equal(IncrementalPlan.Decision.Skip, plan.Decide(Entry(b), _ => throw new Exception("not hashed")));
        plan.Save();
        plan.Dispose();
        Assert.Equal(IncrementalState.LoadResult.Loaded, IncrementalState.TryLoad(path, out var day, out var state));
        Assert.Equal("2026-11-23", day); // nothing changed: the old file still serves
        Assert.Equal(2, state.Count);
    }

    [Fact]
    public void Entries_out_of_walk_order_as_dereferenced_targets_come_are_found_again_next_day()
    {
        using var t = new TempDir();
        var z = t.File("z", "last");
        var a = t.File("a", "first, but given after z as a followed link's target is");
        var statePath = t["d.state"];
        byte[] Hash(WalkEntry e) => System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(e.Path));

        var monday = IncrementalPlan.Load(statePath, "2026-11-23", reset: true, rehashAll: false, _ => { });
        foreach (var f in new[] { z, a })
        {
            Assert.Equal(IncrementalPlan.Decision.ArchiveAndHash, monday.Decide(Entry(f), Hash));
            monday.Archived(Entry(f).PathBytes, Entry(f).Stat, Hash(Entry(f)));
        }
        monday.Save();
        monday.Dispose();

        var tuesday = IncrementalPlan.Load(statePath, "2026-11-24", reset: false, rehashAll: false, _ => { });
        Assert.Equal(IncrementalPlan.Decision.Skip, tuesday.Decide(Entry(z), _ => throw new Exception("not hashed")));
        Assert.Equal(IncrementalPlan.Decision.Skip, tuesday.Decide(Entry(a), _ => throw new Exception("not hashed")));
        tuesday.Dispose();
    }
}
