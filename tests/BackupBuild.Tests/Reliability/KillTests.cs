using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

// One class per action, so xunit runs the four kill series side by side.

internal static class KillData
{
    /// <summary>Writes <paramref name="count"/> files of <paramref name="size"/> pseudo-random (incompressible) bytes.</summary>
    public static void Files(string dir, string prefix, int count, int size, int seed)
    {
        Directory.CreateDirectory(dir);
        var random = new Random(seed);
        var buffer = new byte[size];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(buffer);
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}{i:D3}.bin"), buffer);
        }
    }

    public static bool IsTemp(string relative) => Path.GetFileName(relative).StartsWith(".bkp-tmp-", StringComparison.Ordinal);
}

/// <summary>Collect (incremental items, Tuesday after Monday's full collect) killed at 20 points and re-run.</summary>
public sealed class CollectKillTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Collect_killed_at_20_points_leaves_old_or_new_archives_never_state_ahead_and_the_rerun_matches()
    {
        Tool.Require("python3");
        var sources = new[] { "a", "b", "c" }.Select(n => _t.Dir("src/" + n)).ToArray();
        var project = new BackupProject(_t.Path).Property("CompressionThreads", "1");
        for (var i = 0; i < sources.Length; i++)
        {
            KillData.Files(sources[i], "old", 6, 64 * 1024, i);
            project.Item("CollectDirectory", sources[i], ("CollectMode", "incr"), ("ArchiveMode", "targz"));
        }
        var monday = project.Run("Collect", "BackupRunDate=2026-11-23T01:00");
        Assert.True(monday.ExitCode == 0, monday.All);
        // The master staged Monday (its cback.stage): Tuesday's archives hold Tuesday's changes and take the staged snapshot.
        File.WriteAllBytes(project.CollectDir + "cback.stage", Array.Empty<byte>());
        // Tuesday's changes: new files in every item, so every item writes an archive.
        for (var i = 0; i < sources.Length; i++) KillData.Files(sources[i], "new", 10, 1024 * 1024, 10 + i);

        var saved = _t.Dir("saved");
        KillHarness.CopyTree(project.CollectDir, Path.Combine(saved, "collect"));
        KillHarness.CopyTree(project.WorkingDir, Path.Combine(saved, "work"));
        var mondayArchives = Archives(project.CollectDir);
        var mondayStates = States(project.WorkingDir);

        var since = DateTime.UtcNow;
        KillHarness? harness = null;
        harness = new KillHarness
        {
            Project = project,
            Target = "Collect",
            // Monday's cback.collect is restored by Reset (Collect removes it first): Done is a new one.
            Done = _ => File.Exists(project.CollectDir + "cback.collect") && File.GetLastWriteTimeUtc(project.CollectDir + "cback.collect") > since,
            Properties = new[] { "BackupRunDate=2026-11-24T01:00" },
            Reset = () =>
            {
                KillHarness.CopyTree(Path.Combine(saved, "collect"), project.CollectDir.TrimEnd('/'));
                KillHarness.CopyTree(Path.Combine(saved, "work"), project.WorkingDir.TrimEnd('/'));
            },
            Outcome = () => Describe(Archives(project.CollectDir), States(project.WorkingDir),
                File.Exists(project.CollectDir + "cback.collect")),
            CheckAfterKill = where =>
            {
                var archives = Archives(project.CollectDir); // every non-temporary archive reads to its end
                var states = States(project.WorkingDir);
                var tuesday = harness!.Expected;
                if (File.Exists(project.CollectDir + "cback.collect"))
                    Assert.True(Describe(archives, states, true) == tuesday, where + ": cback.collect vouches for an incomplete collect dir");
                foreach (var (name, content) in archives)
                {
                    var isMonday = mondayArchives.TryGetValue(name, out var m) && m == content;
                    Assert.True(isMonday || tuesday.Contains(content), $"{where}: {name} is neither Monday's nor Tuesday's archive");
                }
                foreach (var (item, state) in states)
                {
                    if (mondayStates.TryGetValue(item, out var m) && m == state) continue;
                    // The state moved on: the archive it describes must be in place and complete.
                    Assert.True(tuesday.Contains($"state {item} {state}"), $"{where}: state of {item} is neither Monday's nor Tuesday's");
                    Assert.True(archives.TryGetValue(item + ".tar.gz", out var a) && tuesday.Contains(a) && !(mondayArchives.GetValueOrDefault(item + ".tar.gz") == a),
                        $"{where}: the incremental state of {item} is ahead of its archive");
                }
            },
        };
        harness.Run();
    }

    private static Dictionary<string, string> Archives(string collectDir) =>
        Directory.EnumerateFiles(collectDir, "*.tar.gz")
            .Where(f => !KillData.IsTemp(f))
            .ToDictionary(f => Path.GetFileName(f), f => KillHarness.TarContents(f));

    private static Dictionary<string, string> States(string workDir) =>
        Directory.EnumerateFiles(workDir, "*.state")
            .Where(f => !KillData.IsTemp(f))
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => KillHarness.Sha(f));

    private static string Describe(Dictionary<string, string> archives, Dictionary<string, string> states, bool indicator) =>
        string.Join("\n", archives.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"archive {a.Key}\n{a.Value}")
            .Concat(states.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"state {s.Key} {s.Value}"))
            .Append("cback.collect " + indicator));
}

/// <summary>Stage (three local peers) killed at 20 points and re-run.</summary>
public sealed class StageKillTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Stage_killed_at_20_points_leaves_no_partial_file_no_false_indicator_and_the_rerun_matches()
    {
        var project = new BackupProject(_t.Path);
        var peers = new[] { "alpha", "beta", "gamma" };
        foreach (var (peer, i) in peers.Select((p, i) => (p, i)))
        {
            var dir = _t.Dir("peers/" + peer);
            KillData.Files(dir, peer, 10, 6 * 1024 * 1024, i);
            File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
            project.Item("Peer", peer, ("Type", "local"), ("CollectDir", dir));
        }
        var day = Path.Combine(project.StagingDir, "2026/11/24");
        string PeerDir(string peer) => _t["peers/" + peer];

        KillHarness? harness = null;
        harness = new KillHarness
        {
            Project = project,
            Target = "Stage",
            Done = _ => File.Exists(Path.Combine(day, "cback.stage")),
            Properties = new[] { "BackupRunDate=2026-11-24T01:00" },
            Reset = () =>
            {
                if (Directory.Exists(project.StagingDir)) Directory.Delete(project.StagingDir, true);
                foreach (var peer in peers)
                {
                    File.Delete(Path.Combine(PeerDir(peer), "cback.stage"));
                    // A run killed while writing the peer's cback.stage leaves its temporary file (Collect removes it).
                    foreach (var temp in Directory.GetFiles(PeerDir(peer), ".bkp-tmp-*")) File.Delete(temp);
                }
            },
            // A re-run copies a peer's cback.stage (written by the killed run) as Cedar copies every
            // file of the collect dir; it holds no data, so the comparison leaves it out.
            Outcome = () => KillHarness.Tree(project.StagingDir, r => r.EndsWith("/cback.stage") && r.Count(c => c == '/') == 4)
                            + "\n" + string.Join(" ", peers.Select(p => p + ":" + File.Exists(Path.Combine(PeerDir(p), "cback.stage")))),
            CheckAfterKill = where =>
            {
                foreach (var peer in peers)
                {
                    var staged = Path.Combine(day, peer);
                    if (!Directory.Exists(staged)) continue;
                    foreach (var f in Directory.EnumerateFiles(staged).Where(f => !KillData.IsTemp(f)))
                        Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(PeerDir(peer), Path.GetFileName(f)))),
                            $"{where}: {f} looks staged but differs from its source");
                    if (File.Exists(Path.Combine(PeerDir(peer), "cback.stage")))
                        foreach (var source in Directory.EnumerateFiles(PeerDir(peer)).Where(f => !f.EndsWith("cback.stage") && !KillData.IsTemp(f)))
                            Assert.True(File.Exists(Path.Combine(staged, Path.GetFileName(source))), $"{where}: {peer} is marked staged but {source} is not in {staged}");
                }
                // The day's cback.stage says every peer was attempted: it may only be there once each is done.
                if (File.Exists(Path.Combine(day, "cback.stage")))
                    foreach (var peer in peers)
                        Assert.True(File.Exists(Path.Combine(PeerDir(peer), "cback.stage")), $"{where}: the day is marked staged before {peer} was");
            },
        };
        harness.Run();
    }
}

/// <summary>Store (Tuesday's session appended to Monday's image) killed at 20 points and re-run.</summary>
public sealed class StoreKillTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Store_killed_at_20_points_leaves_the_image_showing_old_or_new_never_a_false_cback_store_and_the_rerun_matches()
    {
        Tool.Require("bsdtar");
        Tool.Require("xorriso");
        var project = new BackupProject(_t.Path).Property("StoreMediaType", "image");
        var image = Path.Combine(project.Root, "media/backup.iso");
        var monday = Path.Combine(project.StagingDir, "2026/11/23");
        var tuesday = Path.Combine(project.StagingDir, "2026/11/24");
        KillData.Files(Path.Combine(monday, "master"), "m", 2, 100 * 1024, 1);
        File.WriteAllText(Path.Combine(monday, "cback.stage"), "");
        var first = project.Run("Store", "BackupRunDate=2026-11-23T02:00");
        Assert.True(first.ExitCode == 0, first.All);
        KillData.Files(Path.Combine(tuesday, "master"), "t", 12, 8 * 1024 * 1024, 2);
        KillData.Files(Path.Combine(tuesday, "peer"), "p", 4, 8 * 1024 * 1024, 3);
        File.WriteAllText(Path.Combine(tuesday, "cback.stage"), "");
        var savedImage = _t["saved.iso"];
        File.Copy(image, savedImage);
        var mondayView = Contents(image);

        KillHarness? harness = null;
        harness = new KillHarness
        {
            Project = project,
            Target = "Store",
            Done = _ => File.Exists(Path.Combine(tuesday, "cback.store")),
            Properties = new[] { "BackupRunDate=2026-11-24T02:00" },
            Reset = () =>
            {
                foreach (var f in Directory.EnumerateFiles(Path.GetDirectoryName(image)!)) File.Delete(f);
                File.Copy(savedImage, image);
                File.Delete(Path.Combine(tuesday, "cback.store"));
            },
            Outcome = () => Contents(image) + "\ncback.store " + File.Exists(Path.Combine(tuesday, "cback.store")),
            CheckAfterKill = where =>
            {
                var view = Contents(image); // isoinfo-style readers start at block 16: what they show must be whole
                var expected = harness!.Expected;
                Assert.True(view == mondayView || expected.StartsWith(view + "\n"), $"{where}: the image shows neither Monday's nor Tuesday's tree:\n{view}");
                if (File.Exists(Path.Combine(tuesday, "cback.store")))
                    Assert.True(view != mondayView, $"{where}: cback.store vouches for a day the image does not hold");
                var toc = Tool.Run("xorriso", "-indev", image, "-toc");
                Assert.True(toc.ExitCode == 0, where + ": xorriso cannot read the image\n" + toc.All);
            },
        };
        harness.Run();
        Assert.Contains("2026/11/24/peer/p003.bin 8388608", harness.Expected); // Tuesday's data is on the image
        Assert.Contains("cback.store True", harness.Expected);
    }

    /// <summary>The tree the image shows (bsdtar reads the volume descriptor at block 16): path, size, SHA-256.</summary>
    private string Contents(string image)
    {
        var to = _t["view"];
        if (Directory.Exists(to)) Directory.Delete(to, true);
        Directory.CreateDirectory(to);
        var r = Tool.Run("bsdtar", "-xf", image, "-C", to);
        Assert.True(r.ExitCode == 0, "bsdtar cannot read " + image + ": " + r.All);
        return KillHarness.Tree(to);
    }
}

/// <summary>Purge (20,000 files, half old) killed at 20 points and re-run.</summary>
public sealed class PurgeKillTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    [Fact]
    public void Purge_killed_at_20_points_never_removes_a_retained_file_and_the_rerun_matches()
    {
        var template = _t.Dir("template");
        var old = new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);
        var young = new DateTime(2026, 11, 24, 0, 0, 0, DateTimeKind.Utc);
        var kept = new List<string>();
        var times = new List<(string, DateTime)>();
        for (var d = 0; d < 40; d++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(template, $"d{d:D2}")).FullName;
            for (var f = 0; f < 250; f++)
            {
                var path = Path.Combine(dir, $"f{f:D3}");
                File.WriteAllText(path, path);
                var time = f % 2 == 0 ? old : young;
                File.SetLastWriteTimeUtc(path, time);
                File.SetLastAccessTimeUtc(path, time);
                if (f % 2 == 1) kept.Add(Path.GetRelativePath(template, path));
                times.Add((Path.GetRelativePath(template, path), time));
            }
        }
        var target = _t["purge"];
        var project = new BackupProject(_t.Path).Item("PurgeDirectory", target, ("RetainDays", "7"));

        var harness = new KillHarness
        {
            Project = project,
            Target = "Purge",
            Done = output => output.Contains("BKP5020"),
            Properties = new[] { "BackupRunDate=2026-11-25T01:00" },
            Reset = () =>
            {
                KillHarness.CopyTree(template, target);
                // cp reads the template, which moves its access times to now (relatime): put them back.
                foreach (var (relative, time) in times)
                {
                    File.SetLastAccessTimeUtc(Path.Combine(target, relative), time);
                    File.SetLastAccessTimeUtc(Path.Combine(template, relative), time);
                }
            },
            Outcome = () => KillHarness.Tree(target),
            CheckAfterKill = where =>
            {
                foreach (var k in kept)
                    Assert.True(File.Exists(Path.Combine(target, k)), $"{where}: the retained file {k} was removed");
            },
        };
        harness.Run();
    }
}
