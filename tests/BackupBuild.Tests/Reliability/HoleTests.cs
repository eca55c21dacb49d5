using System.Security.Cryptography;
using BackupBuild.Tests.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// No silent loss (issue 16): a staged day whose manifest names an archive that is missing, cut short or damaged is
/// refused by Store and Rebuild before the medium is touched; a restore whose chain of archives has a hole fails with
/// a coded error naming the missing files and writes nothing (unless RestorePartial=true); Find shows deletions and
/// Verify names the gap day. All through the real `dotnet msbuild`.
/// </summary>
public sealed class HoleTests
{
    private const string Monday = "2026-11-23", Tuesday = "2026-11-24", Wednesday = "2026-11-25";

    private static BackupProject Pool(TempDir t, string tree) => new BackupProject(t.Path)
        .Property("BackupPeer", "pool1")
        .Property("StartingDay", "monday")
        .Property("StoreMediaType", "image")
        .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
        .Item("CollectDirectory", tree, ("CollectMode", "incr"), ("ArchiveMode", "targz"));

    /// <summary>
    /// One day of a pool of one: its collect dir emptied first but for the master's cback.stage (as its Purge would after
    /// a Stage: the next Collect reads it to know the previous collect was staged), then the given actions.
    /// </summary>
    private static void Day(BackupProject p, string day, string targets)
    {
        p.PurgeStagedCollectDir();
        var run = p.Run(targets, "BackupRunDate=" + day + "T01:00");
        Assert.True(run.ExitCode == 0, run.All);
    }

    private static string Sha(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    [Theory]
    [InlineData("removed", "BKP1800")]
    [InlineData("truncated", "BKP1801")]
    [InlineData("damaged", "BKP1502")]
    public void A_staged_day_with_an_archive_missing_short_or_damaged_is_refused_by_Store_and_Rebuild_and_the_medium_is_unchanged(
        string damage, string code)
    {
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        var other = t.Dir("src/other");
        for (var i = 0; i < 20; i++) t.File($"src/tree/f{i:00}.txt", new string((char)('a' + i), 5000 + i));
        t.File("src/other/o.txt", "other");
        var p = Pool(t, tree).Item("CollectDirectory", other, ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        Day(p, Monday, "Collect;Stage;Store");
        var image = p.Root + "media/backup.iso";
        var before = Sha(image);

        t.File("src/tree/f03.txt", "changed on tuesday");
        Day(p, Tuesday, "Collect;Stage");
        var peerDir = Path.Combine(p.StagingDir, "2026/11/24/pool1");
        var archive = Directory.GetFiles(peerDir, "*tree*.tar.gz").Single();
        var name = Path.GetFileName(archive);
        switch (damage)
        {
            case "removed": File.Delete(archive); break;
            case "truncated":
                var bytes = File.ReadAllBytes(archive);
                File.WriteAllBytes(archive, bytes[..(bytes.Length / 2)]);
                break;
            default:
                var all = File.ReadAllBytes(archive);
                all[all.Length / 2] ^= 0x20;
                File.WriteAllBytes(archive, all);
                break;
        }

        foreach (var target in new[] { "Store", "RebuildMedium" })
        {
            var refused = p.Run(target, "BackupRunDate=" + Tuesday + "T02:00");
            Assert.True(refused.ExitCode != 0, refused.All);
            var line = refused.Output.Split('\n').FirstOrDefault(l => l.Contains("error " + code));
            Assert.True(line != null, $"{target}: no {code}:\n" + refused.All);
            Assert.Contains(name, line);
            if (code != "BKP1502") Assert.Contains("peer pool1", line);
            Assert.Equal(before, Sha(image)); // the medium is untouched
            var listing = Tool.Run("bsdtar", "-tf", image).Output;
            Assert.Contains("2026/11/23/pool1/", listing);
            Assert.DoesNotContain("2026/11/24", listing);
            Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));
        }

        // Stage again from the peer, whose collect dir still holds the archive: the day is whole and is stored.
        var again = p.Run("Stage;Store", "BackupRunDate=" + Tuesday + "T02:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("2026/11/24/pool1/" + name, Tool.Run("bsdtar", "-tf", image).Output);
    }

    [Fact]
    public void A_staged_day_of_a_peer_without_a_manifest_a_Cedar_client_is_stored_as_before()
    {
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var p = new BackupProject(t.Path).Property("StoreMediaType", "image");
        var peerDir = t.Dir("var/staging/2026/11/24/cedar1");
        var src = t.Dir("cedar-src");
        t.File("cedar-src/a.txt", "from cedar");
        Assert.Equal(0, Tool.Run("tar", "-czf", Path.Combine(peerDir, "home-a.tar.gz"), "-C", src, "a.txt").ExitCode);
        File.WriteAllText(Path.Combine(peerDir, "cback.collect"), "");
        File.WriteAllText(Path.Combine(p.StagingDir, "2026/11/24/cback.stage"), "");
        var store = p.Run("Store", "BackupRunDate=" + Tuesday + "T02:00");
        Assert.True(store.ExitCode == 0, store.All);
        Assert.Contains("2026/11/24/cedar1/home-a.tar.gz", Tool.Run("bsdtar", "-tf", p.Root + "media/backup.iso").Output);
    }

    /// <summary>
    /// Monday full, Tuesday (a new file, a changed one) and Wednesday (another change, a deletion) collected and
    /// staged; then every stored copy of Tuesday is lost. Wednesday's incremental archive holds only what changed
    /// since Tuesday, so as of Wednesday Tuesday's new file is nowhere and its changed file would come back as Monday's.
    /// </summary>
    [Fact]
    public void A_restore_across_a_lost_day_fails_with_BKP8040_and_writes_nothing_unless_RestorePartial()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        t.File("src/tree/keep.txt", "kept all week");
        t.File("src/tree/changed-on-tuesday.txt", "monday");
        t.File("src/tree/changed-on-wednesday.txt", "monday");
        t.File("src/tree/deleted-on-wednesday.txt", "soon gone");
        var p = Pool(t, tree);
        Day(p, Monday, "Collect;Stage");
        var mondayTree = TreeState.Of(tree);
        t.File("src/tree/new-on-tuesday.txt", "new on tuesday");
        t.File("src/tree/changed-on-tuesday.txt", "tuesday");
        Day(p, Tuesday, "Collect;Stage");
        t.File("src/tree/changed-on-wednesday.txt", "wednesday");
        File.Delete(Path.Combine(tree, "deleted-on-wednesday.txt"));
        Day(p, Wednesday, "Collect;Stage");

        Directory.Delete(Path.Combine(p.StagingDir, "2026/11/24"), true); // Tuesday is on no medium any more

        // Restore as of Wednesday: refused before anything is written, naming the missing file, the gap day and the media.
        var to = t.Dir("restore");
        var refused = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + to);
        Assert.Equal(1, refused.ExitCode);
        var line = refused.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8040"));
        Assert.True(line != null, "no BKP8040:\n" + refused.All);
        Assert.Contains($"{tree}/new-on-tuesday.txt", line);
        Assert.Contains(": 1 files", line);
        Assert.Contains("2026-11-24: nothing of that day is stored", line);
        Assert.Contains("staging " + p.StagingDir.TrimEnd('/'), line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));

        // The dry run shows the same and writes nothing.
        var dry = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + to, "RestoreDryRun=true");
        Assert.Equal(1, dry.ExitCode);
        Assert.Contains("error BKP8040", dry.Output);
        Assert.Contains("new-on-tuesday.txt", dry.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));
        var dryPartial = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + to, "RestoreDryRun=true", "RestorePartial=true");
        Assert.Equal(1, dryPartial.ExitCode);
        Assert.Contains($"Would write {to}{tree}/keep.txt", dryPartial.Output);
        Assert.Contains("error BKP8041", dryPartial.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));

        // RestorePartial=true: what exists is restored, and the run still fails naming what is missing.
        var partial = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + to, "RestorePartial=true");
        Assert.Equal(1, partial.ExitCode);
        var partialLine = partial.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8041"));
        Assert.True(partialLine != null, "no BKP8041:\n" + partial.All);
        Assert.Contains($"{tree}/new-on-tuesday.txt", partialLine);
        Assert.Equal("kept all week", File.ReadAllText(to + tree + "/keep.txt"));
        Assert.Equal("wednesday", File.ReadAllText(to + tree + "/changed-on-wednesday.txt"));
        Assert.False(File.Exists(to + tree + "/new-on-tuesday.txt"));
        Assert.False(File.Exists(to + tree + "/deleted-on-wednesday.txt"));

        // As of the lost day itself: its tree is not known (Wednesday's archive builds on a collect that is nowhere).
        var asOfTuesday = p.Run("Restore", "RestoreDate=" + Tuesday, "RestoreTo=" + to);
        Assert.Equal(1, asOfTuesday.ExitCode);
        Assert.Contains("2026-11-24: the peer collected " + tree + " on 2026-11-24, and nothing of that collect is stored", asOfTuesday.Output);
        Assert.Contains("error BKP8040", asOfTuesday.Output);

        // A restore that does not need the lost day is whole and exact.
        var mondayTo = t.Dir("restore-monday");
        var monday = p.Run("Restore", "RestoreDate=" + Monday, "RestoreTo=" + mondayTo);
        Assert.True(monday.ExitCode == 0, monday.All);
        Assert.DoesNotContain("BKP804", monday.Output);
        Assert.Equal("", TreeState.Diff(mondayTree, TreeState.Of(mondayTo + tree)));

        // Only a path the hole does not touch: no file of it is missing, but the chain under it has a gap.
        var one = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + to, "RestorePath=" + tree + "/keep.txt");
        Assert.Equal(1, one.ExitCode);
        Assert.Contains("error BKP8040", one.Output);

        // Find shows the deletion, not only the versions.
        var find = p.Run("Find", "FindPattern=deleted-on-wednesday.txt");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains($"2026-11-25  pool1  deleted  {tree}/deleted-on-wednesday.txt  (listed on the peer's manifest of 2026-11-23", find.Output);
        Assert.Contains($"2026-11-23  pool1  9 bytes  {tree}/deleted-on-wednesday.txt  in ", find.Output);
        var findAsOf = p.Run("Find", "FindPattern=deleted-on-wednesday.txt", "FindDate=" + Wednesday);
        Assert.True(findAsOf.ExitCode == 0, findAsOf.All);
        Assert.Contains("deleted  " + tree + "/deleted-on-wednesday.txt", findAsOf.Output);
        Assert.DoesNotContain("deleted-on-wednesday.txt  in ", findAsOf.Output);
        var findMonday = p.Run("Find", "FindPattern=deleted-on-wednesday.txt", "FindDate=" + Monday);
        Assert.DoesNotContain("  deleted  ", findMonday.Output);

        // Verify names the gap: the peer and the day.
        var verify = p.Run("Verify", "BackupRunDate=" + Wednesday + "T03:00");
        Assert.Equal(1, verify.ExitCode);
        var gap = verify.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8110"));
        Assert.True(gap != null, "no BKP8110:\n" + verify.All);
        Assert.Contains("peer pool1 has a hole: 2026-11-24: nothing of that day is stored", gap);
        Assert.Contains("1 gaps in chains", verify.Output);
    }

    /// <summary>
    /// A collect that was never staged whose changes the next staged day carries (its archive builds on the last
    /// staged collect, "since", and its manifest names the unstaged collect as "previous"): the later day restores
    /// whole, a restore as of the unstaged day fails with BKP8040 and writes nothing, and Verify warns BKP8111
    /// naming the day, without failing.
    /// </summary>
    [Fact]
    public void A_collect_that_was_never_staged_fails_a_restore_as_of_its_day_and_later_days_restore_whole()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        t.File("src/tree/a.txt", "a");
        var p = Pool(t, tree);
        Day(p, Monday, "Collect;Stage");
        var mondayState = Directory.GetFiles(p.WorkingDir, "*.state*").ToDictionary(f => f, File.ReadAllBytes);
        t.File("src/tree/b.txt", "b on tuesday");
        Day(p, Tuesday, "Collect"); // never staged
        // What carrying the unstaged changes forward amounts to: Wednesday's archive is the difference from Monday's state.
        foreach (var f in Directory.GetFiles(p.WorkingDir, "*.state*")) File.Delete(f);
        foreach (var (f, bytes) in mondayState) File.WriteAllBytes(f, bytes);
        t.File("src/tree/c.txt", "c on wednesday");
        Day(p, Wednesday, "Collect;Stage");
        var manifestPath = Path.Combine(p.StagingDir, "2026/11/25/pool1/backupbuild-manifest.json.gz");
        var manifest = ReadManifest(manifestPath);
        var item = manifest["items"]!.AsArray().Single()!.AsObject();
        Assert.Equal(Monday, (string?)item["since"]);
        item["previous"] = Tuesday;
        WriteManifest(manifestPath, manifest);
        var wednesdayTree = TreeState.Of(tree);

        var whole = t.Dir("restore-wednesday");
        var wednesday = p.Run("Restore", "RestoreDate=" + Wednesday, "RestoreTo=" + whole);
        Assert.True(wednesday.ExitCode == 0, wednesday.All);
        Assert.Equal("", TreeState.Diff(wednesdayTree, TreeState.Of(whole + tree)));

        var to = t.Dir("restore-tuesday");
        var tuesday = p.Run("Restore", "RestoreDate=" + Tuesday, "RestoreTo=" + to);
        Assert.Equal(1, tuesday.ExitCode);
        Assert.Contains($"error BKP8040", tuesday.Output);
        Assert.Contains($"2026-11-24: the peer collected {tree} on 2026-11-24, and nothing of that collect is stored", tuesday.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));

        var verify = p.Run("Verify", "BackupRunDate=" + Wednesday + "T03:00");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("warning BKP8111: Peer pool1 collected on 2026-11-24 but that day is stored nowhere", verify.Output);
        Assert.DoesNotContain("BKP8110", verify.Output);
    }

    private static System.Text.Json.Nodes.JsonObject ReadManifest(string path)
    {
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
        return System.Text.Json.Nodes.JsonNode.Parse(gz)!.AsObject();
    }

    private static void WriteManifest(string path, System.Text.Json.Nodes.JsonObject manifest)
    {
        using var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest);
        gz.Write(System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }

    /// <summary>A manifest that names an archive no medium holds: Restore refuses, Verify names the day and the archive.</summary>
    [Fact]
    public void An_archive_a_manifest_names_that_is_on_no_medium_is_a_hole_for_Restore_and_Verify()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        t.File("src/tree/a.txt", "a");
        var p = Pool(t, tree);
        Day(p, Monday, "Collect;Stage");
        t.File("src/tree/b.txt", "b on tuesday");
        Day(p, Tuesday, "Collect;Stage");
        var archive = Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/pool1"), "*.tar.gz").Single();
        File.Delete(archive);

        var to = t.Dir("restore");
        var refused = p.Run("Restore", "RestoreTo=" + to);
        Assert.Equal(1, refused.ExitCode);
        var line = refused.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8040"));
        Assert.True(line != null, "no BKP8040:\n" + refused.All);
        Assert.Contains($"{tree}/b.txt", line);
        Assert.Contains($"2026-11-24: the archive {Path.GetFileName(archive)} is on none of the media", line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));

        var verify = p.Run("Verify", "BackupRunDate=" + Tuesday + "T03:00");
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains($"BKP8110: The chain of archives of peer pool1 has a hole: 2026-11-24: the archive {Path.GetFileName(archive)} is on none of the media", verify.Output);
    }

    /// <summary>
    /// A day the pool was staged without this peer's folder (Stage could not reach it), and a day whose folder Stage
    /// left part way (an archive, no manifest, no cback.collect): a restore as of either day is BKP8040 naming the day
    /// and writes nothing, RestorePartial=true restores the newest earlier tree and fails (BKP8041), Verify names both
    /// days (BKP8050), the report lists them as days with a hole. The same rule everywhere (RestoreTimeline.MissedDays).
    /// </summary>
    [Fact]
    public void A_day_staged_without_the_peer_or_with_its_folder_left_part_way_is_a_hole_for_Restore_Verify_and_the_report()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        t.File("src/tree/a.txt", "a");
        var p = Pool(t, tree);
        Day(p, Monday, "Collect;Stage");
        var mondayTree = TreeState.Of(tree);
        t.File("src/tree/b.txt", "b on tuesday");
        Day(p, Tuesday, "Collect;Stage");
        // Tuesday: the pool was staged (another peer is there), this peer was not.
        var tuesdayDir = Path.Combine(p.StagingDir, "2026/11/24");
        Directory.Delete(Path.Combine(tuesdayDir, "pool1"), true);
        t.File("var/staging/2026/11/24/other/cback.collect", "");
        Assert.True(File.Exists(Path.Combine(tuesdayDir, "cback.stage")));
        t.File("src/tree/c.txt", "c on wednesday");
        Day(p, Wednesday, "Collect;Stage");
        // Wednesday: Stage stopped part way: an archive is there, its manifest and cback.collect are not.
        var wednesdayDir = Path.Combine(p.StagingDir, "2026/11/25/pool1");
        File.Delete(Path.Combine(wednesdayDir, "cback.collect"));
        File.Delete(Path.Combine(wednesdayDir, "backupbuild-manifest.json.gz"));
        Assert.NotEmpty(Directory.GetFiles(wednesdayDir, "*.tar.gz"));

        foreach (var (day, text) in new[] { (Tuesday, "2026-11-24: the peer was not staged that day"),
                     (Wednesday, "2026-11-25: the peer's folder of that day has no cback.collect") })
        {
            var to = t.Dir("restore-" + day);
            var refused = p.Run("Restore", "RestoreDate=" + day, "RestoreTo=" + to);
            Assert.Equal(1, refused.ExitCode);
            var line = refused.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP8040"));
            Assert.True(line != null && line.Contains(text), $"as of {day}: no BKP8040 naming the day:\n" + refused.All);
            Assert.Empty(Directory.EnumerateFileSystemEntries(to));

            var dry = p.Run("Restore", "RestoreDate=" + day, "RestoreTo=" + to, "RestoreDryRun=true");
            Assert.Equal(1, dry.ExitCode);
            Assert.Contains("error BKP8040", dry.Output);
            Assert.Empty(Directory.EnumerateFileSystemEntries(to));

            var partialTo = t.Dir("partial-" + day);
            var partial = p.Run("Restore", "RestoreDate=" + day, "RestoreTo=" + partialTo, "RestorePartial=true");
            Assert.Equal(1, partial.ExitCode);
            Assert.Contains("error BKP8041", partial.Output);
            Assert.Equal("", TreeState.Diff(mondayTree, TreeState.Of(partialTo + tree)));
        }

        var verify = p.Run("Verify", "BackupRunDate=" + Wednesday + "T03:00");
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("error BKP8050: Peer pool1 has a hole on 2026-11-24: 2026-11-24: the peer was not staged that day", verify.Output);
        Assert.Contains("error BKP8050: Peer pool1 has a hole on 2026-11-25: 2026-11-25: the peer's folder of that day has no cback.collect", verify.Output);

        var report = p.Run("Report", "BackupRunDate=" + Wednesday + "T07:00");
        Assert.True(report.ExitCode == 0, report.All);
        var holes = File.ReadAllLines(Path.Combine(p.Root, "report.txt")).FirstOrDefault(l => l.Contains("Days with a hole:")) ?? "";
        Assert.Contains("2026-11-24 (pool1", holes);
        Assert.Contains("2026-11-25 (pool1", holes);
    }
}
