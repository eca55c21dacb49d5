using System.Text.RegularExpressions;
using BackupBuild.Tests.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Issue 16's story, through the real `dotnet msbuild`: a week (Monday 2026-11-23 to Sunday, driven by
/// BackupRunDate) of two clients that collect an `incr` item (everything on Monday) and a `daily` item and
/// purge their collect dir every day with RetainDays 0, and a master that stages them — the local peer from
/// a path, the remote one over a real sshd on 127.0.0.1 — and stores each day on an image. The remote
/// client's host key "changes" on Wednesday and Thursday (the master's known_hosts no longer matches: Stage
/// refuses it, correctly) and the staging disk (a small tmpfs) is full on Friday; Saturday everything works
/// again. The trees change every day (new, changed, deleted files). After every day, Restore as of every day
/// so far either gives exactly that day's tree or fails with a coded error and writes nothing. See
/// docs/reliability.md, "Days that never reached the master".
/// </summary>
public sealed class UnstagedWeekSimulationTests : IClassFixture<SshServer>, IDisposable
{
    private static readonly string[] Week =
        { "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29" };
    private const int KeyChangedFrom = 2, KeyChangedTo = 3, DiskFull = 4, Recovered = 5;

    private readonly SshServer _ssh;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly TempDir _t = new();
    private readonly List<string> _mounts = new();

    public UnstagedWeekSimulationTests(SshServer ssh, Xunit.Abstractions.ITestOutputHelper output) => (_ssh, _output) = (ssh, output);

    public void Dispose()
    {
        foreach (var m in _mounts) Tool.Run("umount", "-l", m);
        _t.Dispose();
    }

    /// <summary>One client machine: its data (an incr tree and a daily folder), its project, and what each day's tree was.</summary>
    private sealed class Client
    {
        public required string Name { get; init; }
        public required string Data { get; init; }
        public required BackupProject Project { get; init; }
        public List<SortedDictionary<string, string>> Expected { get; } = new();
        /// <summary>Days whose collect did not reach the master (for this peer).</summary>
        public required HashSet<int> Gaps { get; init; }
    }

    private Client NewClient(string name, HashSet<int> gaps)
    {
        var data = _t.Dir(name + "-data");
        var project = new BackupProject(_t.Dir(name))
            .Property("StartingDay", "monday")
            .Property("BackupPeer", name)
            .Item("CollectDirectory", Path.Combine(data, "tree"), ("CollectMode", "incr"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", Path.Combine(data, "etc"), ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        // The documented client pattern: the master has staged the collect dir by the time Purge runs.
        project.Item("PurgeDirectory", project.CollectDir, ("RetainDays", "0"));
        return new Client { Name = name, Data = data, Project = project, Gaps = gaps };
    }

    private static void Write(string path, string content, int mode, long mtime)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path)) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        File.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeSeconds(mtime).UtcDateTime);
    }

    /// <summary>Day 0 builds the tree; every later day adds a file, changes two (content, and a mode with it), deletes the file added two days before.</summary>
    private static void Mutate(string data, string name, int day)
    {
        var t = 1_780_000_000L + day * 86_400;
        var tree = Path.Combine(data, "tree");
        if (day == 0)
        {
            Write(Path.Combine(tree, "stable.txt"), $"{name}: never changes\n", 0b110_100_100, t);
            Write(Path.Combine(tree, "sub/deep/stable.conf"), $"{name}: deep\n", 0b110_000_000, t);
            Write(Path.Combine(tree, "deleted-on-thursday.txt"), $"{name}: gone on day 3\n", 0b110_100_100, t);
            File.CreateSymbolicLink(Path.Combine(tree, "link-to-stable"), "stable.txt");
        }
        if (day == 3) File.Delete(Path.Combine(tree, "deleted-on-thursday.txt"));
        Write(Path.Combine(tree, "changing.txt"), $"{name}: day {day}\n" + new string('x', day * 37), 0b110_100_100, t + 1);
        Write(Path.Combine(tree, "sub/mode.txt"), $"{name}: mode of day {day}\n", day % 2 == 0 ? 0b110_100_100 : 0b111_101_000, t + 2);
        Write(Path.Combine(tree, $"new/day-{day}.txt"), $"{name}: added on day {day}\n", 0b110_100_100, t + 3);
        var old = Path.Combine(tree, $"new/day-{day - 2}.txt");
        if (File.Exists(old)) File.Delete(old);
        Write(Path.Combine(data, "etc/daily.conf"), $"{name}: daily of day {day}\n", 0b110_100_000, t + 4);
    }

    private string SmallDisk(string name, int megabytes)
    {
        var dir = _t.Dir(name);
        var tmpfs = Tool.Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", dir);
        Assert.True(tmpfs.ExitCode == 0, "cannot mount a tmpfs (run the tests as root): " + tmpfs.All);
        _mounts.Add(dir);
        return dir;
    }

    /// <summary>Fills a file system to the last byte (what a growing log or a stray copy does to a staging disk).</summary>
    private static void Fill(string dir) => DiskFullTests.FillUp(dir);

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.Exists(dir) ? Snapshot.Contents(dir) : new Dictionary<string, byte[]>();

    /// <summary>A staged day whose cback.store vouches for it must hold, for every peer with a manifest, every archive it names, whole.</summary>
    private static IEnumerable<string> StoredButIncomplete(string stagingDay)
    {
        if (!File.Exists(Path.Combine(stagingDay, "cback.store"))) yield break;
        foreach (var peerDir in Directory.GetDirectories(stagingDay))
        {
            var manifestPath = Path.Combine(peerDir, Tasks.Collect.CollectManifest.FileName);
            if (!File.Exists(manifestPath)) continue;
            Tasks.Collect.CollectManifest manifest;
            using (var s = File.OpenRead(manifestPath)) manifest = Tasks.Collect.CollectManifest.Read(s);
            foreach (var item in manifest.Items.Where(i => i.Archive != null))
            {
                var archive = Path.Combine(peerDir, item.Archive!);
                if (!File.Exists(archive) || new FileInfo(archive).Length != item.Size)
                    yield return $"{stagingDay} has cback.store but {archive} is missing or short";
            }
        }
    }

    /// <summary>One step of a master's batch: its output lines (between its markers) and whether its MSBuild task succeeded.</summary>
    private sealed record Step(bool Succeeded, string Output);

    /// <summary>The result of one Restore: which client, as of which day, into which (new, empty) folder.</summary>
    private sealed record RestoreCase(Client Client, int AsOf, string To, Step Step);

    /// <summary>
    /// Runs the master's steps — each a target of the master's own project with its own global properties
    /// (BackupRunDate, RestorePeer…) — in ONE `dotnet msbuild` run, in order, each going on after the one before
    /// failed (ContinueOnError="ErrorAndContinue"), as separate cron lines would. Each is told apart by its markers.
    /// A day's Stage, Store and a dozen Restores thus cost one MSBuild start-up instead of fourteen.
    /// </summary>
    private static Dictionary<string, Step> RunSteps(BackupProject master, IReadOnlyList<(string Id, string Target, string Properties)> steps)
    {
        File.WriteAllText(Path.Combine(master.Directory, "sim-steps.props"), $"""
            <Project>
              <ItemGroup>
            {string.Join("\n", steps.Select(st => $"""    <SimStep Include="{st.Id}" Action="{st.Target}" Props="{System.Security.SecurityElement.Escape(st.Properties)}" />"""))}
              </ItemGroup>
            </Project>
            """);
        var run = master.Run("SimSteps");
        var lines = run.Output.Split('\n');
        var result = new Dictionary<string, Step>();
        foreach (var (id, _, _) in steps)
        {
            var begin = Array.FindIndex(lines, l => l.Contains("SIM-BEGIN " + id + ";"));
            var end = Array.FindIndex(lines, l => l.Contains("SIM-END " + id + ";"));
            Assert.True(begin >= 0 && end > begin, $"step {id} did not run:\n{run.All}");
            result[id] = new Step(lines[end].TrimEnd().EndsWith("true", StringComparison.OrdinalIgnoreCase), string.Join("\n", lines[(begin + 1)..end]));
        }
        return result;
    }

    private static string MasterTargets => """
          <Import Project="$(MSBuildProjectDirectory)/sim-steps.props" Condition="Exists('$(MSBuildProjectDirectory)/sim-steps.props')" />
          <Target Name="SimSteps" Outputs="%(SimStep.Identity)">
            <Message Importance="high" Text="SIM-BEGIN %(SimStep.Identity);" />
            <MSBuild Projects="$(MSBuildProjectFullPath)" Targets="%(SimStep.Action)" Properties="%(SimStep.Props)" ContinueOnError="ErrorAndContinue" />
            <Message Importance="high" Text="SIM-END %(SimStep.Identity); $(MSBuildLastTaskResult)" />
          </Target>
        """;

    /// <summary>
    /// Checks one restore against the rules: the day's exact tree (exit 0); or, for a day that never reached the master
    /// (<paramref name="lastStaged"/> is the newest earlier day that did), error BKP8040 naming the peer with the target
    /// folder still empty. Returns what is wrong (empty: fine) and, for a coded failure, a note.
    /// </summary>
    private static (string Problem, string? Note) Judge(RestoreCase r, int? lastStaged)
    {
        var what = $"Restore of {r.Client.Name} as of {Week[r.AsOf]}";
        var (succeeded, output) = (r.Step.Succeeded, r.Step.Output);
        var got = TreeState.Of(r.To + r.Client.Data);
        var outside = Directory.EnumerateFileSystemEntries(r.To, "*", SearchOption.AllDirectories)
            .Where(e => !(r.To + r.Client.Data + "/").StartsWith(e + "/", StringComparison.Ordinal) && !e.StartsWith(r.To + r.Client.Data + "/", StringComparison.Ordinal))
            .ToList();
        var diff = TreeState.Diff(r.Client.Expected[r.AsOf], got);
        var clean = succeeded && outside.Count == 0 && !output.Contains("error BKP") && !output.Contains("warning BKP");
        if (clean && diff == "") return ("", null);
        if (succeeded)
            return ($"{what} exited 0 with a tree that is not that day's:\n{diff}\n{string.Join("\n", outside.Select(o => "outside " + o))}\n{output}", null);
        if (lastStaged == null)
            return ($"{what} failed, but that day reached the master and must restore exactly:\n{output}", null);
        var leftovers = Directory.EnumerateFileSystemEntries(r.To, "*", SearchOption.AllDirectories).ToList();
        if (leftovers.Count > 0)
            return ($"{what} failed but wrote {leftovers.Count} entries, e.g. {leftovers[0]}:\n{output}", null);
        if (!output.Split('\n').Any(l => l.Contains("error BKP8040") && l.Contains("peer " + r.Client.Name)))
            return ($"{what} failed without error BKP8040 naming the peer:\n{output}", null);
        return ("", $"{what}: BKP8040, nothing written");
    }

    [Fact]
    public void A_week_with_a_changed_host_key_and_a_full_staging_disk_restores_every_day_exactly_or_fails_with_a_code_and_writes_nothing()
    {
        Tool.Require("sshd");
        var local = NewClient("local", new HashSet<int> { DiskFull });
        var remote = NewClient("remote", new HashSet<int> { KeyChangedFrom, KeyChangedTo, DiskFull });
        var clients = new[] { local, remote };

        var staging = SmallDisk("staging", 8);
        var knownHosts = _t["master-known_hosts"];
        var master = new BackupProject(_t.Dir("master"))
            .Property("StartingDay", "monday")
            .Property("BackupPeer", "master")
            .Property("StagingDir", staging + "/")
            .Item("Peer", "local", ("Type", "local"), ("CollectDir", local.Project.CollectDir))
            .Item("Peer", "remote", _ssh.PeerMetadata(remote.Project.CollectDir, ("KnownHostsFile", knownHosts)))
            .Targets(MasterTargets);

        var problems = new List<string>();
        for (var day = 0; day < Week.Length; day++)
        {
            var date = Week[day];
            foreach (var c in clients)
            {
                Mutate(c.Data, c.Name, day);
                c.Expected.Add(TreeState.Of(c.Data));
            }

            // 00:30 the clients collect (two machines: at the same time).
            var collects = clients.Select(c => Task.Run(() => c.Project.Run("Collect", $"BackupRunDate={date}T00:30"))).ToArray();
            foreach (var (c, r) in clients.Zip(collects.Select(x => x.Result)))
            {
                Assert.True(r.ExitCode == 0, $"{date} Collect on {c.Name}:\n{r.All}");
                // The day after one the master did not stage, the incr archive carries from the last staged collect.
                if (c.Gaps.Contains(day - 1) && !r.Output.Contains("warning BKP2200"))
                    problems.Add($"{date} Collect on {c.Name} does not say that it carries unstaged changes (BKP2200):\n{r.Output}");
            }

            // 02:30 the master stages; 03:30 it stores.
            File.Copy(day is >= KeyChangedFrom and <= KeyChangedTo ? _ssh.WrongKnownHosts : _ssh.KnownHosts, knownHosts, overwrite: true);
            if (day == DiskFull) Fill(staging);
            if (day == Recovered) File.Delete(Path.Combine(staging, "filler"));
            // 02:30 the master stages, 03:30 it stores; then Restore as of every day so far, each into a new empty folder.
            var restores = clients.SelectMany(c => Enumerable.Range(0, day + 1).Select(d =>
                (Client: c, Day: d, To: _t.Dir($"restores/after-{date}/{c.Name}-as-of-{Week[d]}")))).ToList();
            // Stage and Store run as the cron lines do, one process each: the run log (and so the Report checked below)
            // dates a run by its own BackupRunDate. The restores share one process (RunSteps).
            var stageRun = master.Run("Stage", $"BackupRunDate={date}T02:30");
            var storeRun = master.Run("Store", $"BackupRunDate={date}T03:30");
            var (stage, store) = (new Step(stageRun.ExitCode == 0, stageRun.Output), new Step(storeRun.ExitCode == 0, storeRun.Output));
            var steps = RunSteps(master, restores.Select(r => ($"restore-{r.Client.Name}-{r.Day}", "Restore",
                $"BackupRunDate={date}T05:00;RestorePeer={r.Client.Name};RestoreDate={Week[r.Day]};RestoreTo={r.To}")).ToList());
            var expectedStageError = day switch
            {
                >= KeyChangedFrom and <= KeyChangedTo => "BKP3052",
                DiskFull => "BKP3027",
                _ => null,
            };
            if (expectedStageError == null) Assert.True(stage.Succeeded, $"{date} Stage:\n{stage.Output}");
            else Assert.True(!stage.Succeeded && stage.Output.Contains("error " + expectedStageError), $"{date} Stage:\n{stage.Output}");
            if (!clients.Any(c => c.Gaps.Contains(day)))
                Assert.True(store.Succeeded, $"{date} Store:\n{store.Output}");
            else if (!store.Succeeded && (!store.Output.Contains("error BKP") || store.Output.Contains("MSB4018")))
                problems.Add($"{date} Store failed without a coded error (or with an unhandled one):\n{store.Output}");
            else
                _output.WriteLine($"{date} Store {(store.Succeeded ? "succeeded" : "failed")}: " +
                    string.Join(" | ", store.Output.Split('\n').Where(l => l.Contains("error ")).Select(l => l.Trim()).Take(2)));
            foreach (var d in Directory.GetDirectories(Path.Combine(staging, "2026/11")))
                problems.AddRange(StoredButIncomplete(d).Select(p => $"{date} Store (succeeded: {store.Succeeded}): {p}"));
            foreach (var (c, d, to) in restores)
            {
                int? lastStaged = c.Gaps.Contains(d) ? Enumerable.Range(0, d).Last(e => !c.Gaps.Contains(e)) : null;
                var (problem, note) = Judge(new RestoreCase(c, d, to, steps[$"restore-{c.Name}-{d}"]), lastStaged);
                if (problem != "") problems.Add($"after {date}: {problem}");
                if (note != null) _output.WriteLine($"after {date}: {note}");
            }

            // 06:30 the clients purge their collect dirs (RetainDays 0). What the master did not stage stays.
            var beforePurge = clients.ToDictionary(c => c, c => Files(c.Project.CollectDir));
            var purges = clients.Select(c => Task.Run(() => c.Project.Run("Purge", $"BackupRunDate={date}T06:30"))).ToArray();
            foreach (var (c, r) in clients.Zip(purges.Select(x => x.Result)))
            {
                Assert.True(r.ExitCode == 0, $"{date} Purge on {c.Name}:\n{r.All}");
                var after = Files(c.Project.CollectDir);
                if (c.Gaps.Contains(day))
                {
                    if (!r.Output.Split('\n').Any(l => l.Contains("warning BKP5100") && l.Contains(".tar")))
                        problems.Add($"{date} Purge on {c.Name} keeps unstaged archives without warning BKP5100 naming them:\n{r.Output}");
                    foreach (var (name, bytes) in beforePurge[c].Where(f => f.Key.Contains(".tar")))
                        if (!after.TryGetValue(name, out var kept) || !kept.SequenceEqual(bytes))
                            problems.Add($"{date} Purge on {c.Name} removed {name}, which the master never staged");
                }
                else
                {
                    Assert.True(after.Keys.All(k => !k.Contains(".tar")), $"{date} Purge on {c.Name} kept staged archives: {string.Join(", ", after.Keys)}\n{r.All}");
                }
            }

            // Thursday evening the remote peer is two days behind the pool: the report says so.
            if (day == KeyChangedTo)
                problems.AddRange(ReportProblems(master, clients, staging, date, lagging: true));
        }

        // The week is over and every peer is staged again; the gap days stay visible.
        problems.AddRange(ReportProblems(master, clients, staging, Week.Last(), lagging: false));
        var verify = master.Run("Verify", $"BackupRunDate={Week.Last()}T08:00");
        if (!Regex.IsMatch(verify.Output, @"Verify finished: \d+ archive copies read, 0 bad, 0 missing"))
            problems.Add($"Verify found bad or missing copies:\n{verify.Output}");
        // With the carried archive the chain has no hole (Saturday's builds on Tuesday's, which is stored), so there is no
        // BKP8110; each day the pool was staged without the peer's whole folder is BKP8050, and the collect that Saturday's
        // carried archive replaced (its manifest's "previous"), stored nowhere, BKP8111.
        var verifyLines = verify.Output.Split('\n');
        foreach (var c in clients)
        foreach (var g in c.Gaps)
        {
            var codes = new[] { "BKP8050", "BKP8111" }.Where(code => verifyLines.Any(l => l.Contains(code) && l.Contains("Peer " + c.Name + " ") && l.Contains(Week[g]))).ToList();
            if (codes.Count == 0)
                problems.Add($"Verify does not name {c.Name}'s day {Week[g]}, which never reached the master (BKP8050 or BKP8111):\n{verify.Output}");
            _output.WriteLine($"Verify names {c.Name}'s day {Week[g]} with {string.Join(" and ", codes)}");
        }

        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n" + string.Join("\n\n", problems));
    }

    /// <summary>Runs Report as of <paramref name="date"/>; returns what it fails to show.</summary>
    private IEnumerable<string> ReportProblems(BackupProject master, Client[] clients, string staging, string date, bool lagging)
    {
        // The default ReportLogFiles: the master's run log (BackupLogFile), which every action of the week wrote to.
        var report = master.Run("Report", $"BackupRunDate={date}T07:00");
        if (report.ExitCode != 0)
        {
            yield return $"Report as of {date} failed:\n{report.All}";
            yield break;
        }
        var text = File.ReadAllText(Path.Combine(master.Root, "report.txt"));
        var lines = text.Split('\n');
        // Thursday: the remote peer was last staged on Tuesday, two days behind the pool: a failure (BKP8211).
        if (lagging && !lines.Any(l => l.TrimStart().StartsWith("remote:") && l.Contains("BKP8211") && l.Contains(Week[KeyChangedFrom - 1])))
            yield return $"Report as of {date} does not mark the remote peer, two days behind, as a failure (BKP8211):\n{text}";
        // Every day a peer's collect did not reach the master so far is named as a day with a hole, with the peer.
        var holes = lines.FirstOrDefault(l => l.Contains("Days with a hole:")) ?? "";
        var today = Array.IndexOf(Week, date);
        foreach (var (peer, gaps) in new[] { ("remote", new[] { KeyChangedFrom, KeyChangedTo, DiskFull }), ("local", new[] { DiskFull }) })
            foreach (var gap in gaps.Where(g => g <= today))
                if (!Regex.IsMatch(holes, Regex.Escape(Week[gap]) + @" \([^)]*\b" + peer + @"\b"))
                    yield return $"Report as of {date} does not name {peer}'s day {Week[gap]} as a day with a hole:\n{text}";
        // Each failure once, with its day, peer and code (not "see the build output"), and the failed runs counted.
        foreach (var (code, peer, days) in new[] { ("BKP3052", "remote", new[] { KeyChangedFrom, KeyChangedTo }) })
            foreach (var day in days.Where(g => g <= today))
            {
                var found = lines.Count(l => l.Contains("failure") && l.Contains(Week[day]) && l.Contains(peer) && l.Contains(code));
                if (found != 1) yield return $"Report as of {date} lists {peer}'s {code} of {Week[day]} {found} times, not once:\n{text}";
            }
        if (today >= DiskFull && !lines.Any(l => l.Contains("failure") && l.Contains(Week[DiskFull]) && l.Contains("BKP3027")))
            yield return $"Report as of {date} does not list the full staging disk (BKP3027) of {Week[DiskFull]}:\n{text}";
        foreach (var l in lines.Where(l => l.Contains("see the build output") || l.Contains("see that run's build output")))
            yield return $"Report as of {date} has a failure without its code: {l}";
    }

    /// <summary>
    /// The same story with the real Cedar Backup 3 as the master (`cback3 stage` over scp, its staging dir on a small
    /// tmpfs) and a BackupBuild client: Cedar gets Monday, Tuesday, Saturday and Sunday; on Saturday the client's
    /// `incr` archive, under Cedar's one name, holds every change since Tuesday; what Cedar stages is the collect dir byte for byte.
    /// </summary>
    [Fact]
    public void A_cedar_backup_master_gets_every_change_of_the_days_it_missed_in_the_first_incremental_archive_it_stages()
    {
        var cback3 = Tool.Require("cback3");
        Tool.Require("scp");
        var client = NewClient("client", new HashSet<int> { KeyChangedFrom, KeyChangedTo, DiskFull });
        var staging = SmallDisk("cedar-staging", 8);
        var knownHosts = _t["cedar-known_hosts"];
        var rcp = $"/usr/bin/scp -O -B -P {_ssh.Port} -i {_ssh.ClientKey} -o IdentitiesOnly=yes -o UserKnownHostsFile={knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes";
        var conf = _t["cedar/cback3.conf"];
        File.WriteAllText(_t.File("cedar/cback3.conf"), $"""
            <?xml version="1.0"?>
            <cb_config>
              <options><starting_day>monday</starting_day><working_dir>{_t.Dir("cedar/work")}</working_dir>
                <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>{rcp}</rcp_command></options>
              <stage><staging_dir>{staging}</staging_dir>
                <peer><name>127.0.0.1</name><type>remote</type><collect_dir>{client.Project.CollectDir.TrimEnd('/')}</collect_dir>
                  <backup_user>root</backup_user></peer></stage>
            </cb_config>
            """);
        var cedarLog = _t["cedar/cback3.log"];
        var seen = new List<Dictionary<string, byte[]>>(); // per day: what Cedar staged for the peer
        var problems = new List<string>();
        for (var day = 0; day < Week.Length; day++)
        {
            var date = Week[day];
            Mutate(client.Data, client.Name, day);
            client.Expected.Add(TreeState.Of(client.Data));
            var collect = client.Project.Run("Collect", $"BackupRunDate={date}T00:30");
            Assert.True(collect.ExitCode == 0, $"{date} Collect:\n{collect.All}");
            var collected = Files(client.Project.CollectDir);

            File.Copy(day is >= KeyChangedFrom and <= KeyChangedTo ? _ssh.WrongKnownHosts : _ssh.KnownHosts, knownHosts, overwrite: true);
            if (day == DiskFull) Fill(staging);
            if (day == Recovered) File.Delete(Path.Combine(staging, "filler"));
            var logBefore = File.Exists(cedarLog) ? File.ReadAllText(cedarLog).Length : 0;
            var stage = Tool.Run(cback3, "-c", conf, "-l", cedarLog, "stage");
            var log = File.ReadAllText(cedarLog)[logBefore..];
            // Cedar names the staging folder after the real date: take the day out, as Cedar's store and purge would.
            var cedarDay = Directory.GetDirectories(staging, "*", SearchOption.AllDirectories)
                .SingleOrDefault(d => Path.GetFileName(d) == "127.0.0.1");
            seen.Add(cedarDay == null ? new Dictionary<string, byte[]>() : Files(cedarDay));
            foreach (var year in Directory.GetDirectories(staging)) Directory.Delete(year, recursive: true);
            var markedStaged = File.Exists(Path.Combine(client.Project.CollectDir, "cback.stage"));

            if (client.Gaps.Contains(day))
            {
                // Cedar gets nothing usable and does not mark the peer staged.
                Assert.False(markedStaged, $"{date}: Cedar marked the client staged:\n{log}");
                Assert.True(log.Contains("ERROR"), $"{date}: Cedar logged no error (exit {stage.ExitCode}):\n{log}");
                Assert.True(seen[day].Where(f => f.Key.Contains(".tar")).All(f => !collected.TryGetValue(f.Key, out var c) || !c.SequenceEqual(f.Value)),
                    $"{date}: Cedar got a complete archive on a day it should not have");
            }
            else
            {
                Assert.True(markedStaged, $"{date}: Cedar did not mark the client staged (exit {stage.ExitCode}):\n{stage.All}\n{log}");
                // Cedar stages the collect dir byte for byte, under the names it expects.
                Assert.Equal(collected.Keys.Where(k => k != "cback.stage").Order(), seen[day].Keys.Where(k => k != "cback.stage").Order());
                foreach (var (name, bytes) in collected.Where(f => f.Key != "cback.stage"))
                    Assert.True(bytes.SequenceEqual(seen[day][name]), $"{date}: Cedar's copy of {name} differs");
            }

            var beforePurge = Files(client.Project.CollectDir);
            var purge = client.Project.Run("Purge", $"BackupRunDate={date}T06:30");
            Assert.True(purge.ExitCode == 0, $"{date} Purge:\n{purge.All}");
            var afterPurge = Files(client.Project.CollectDir);
            if (client.Gaps.Contains(day))
                foreach (var (name, bytes) in beforePurge.Where(f => f.Key.Contains(".tar")))
                    if (!afterPurge.TryGetValue(name, out var kept) || !kept.SequenceEqual(bytes))
                        problems.Add($"{date}: the client's Purge removed {name}, which Cedar never staged");
        }

        // Every day Cedar got, it got under the same (Cedar) archive names as on Monday.
        var incrName = seen[0].Keys.Single(k => k.EndsWith("-tree.tar.gz"));
        foreach (var day in new[] { 1, Recovered, Recovered + 1 })
            Assert.Contains(incrName, seen[day].Keys);

        // Saturday's incremental archive brings every change since Tuesday (the last day Cedar got), with Saturday's bytes.
        var extracted = _t.Dir("cedar/saturday-incr");
        File.WriteAllBytes(_t["cedar/saturday-incr.tar.gz"], seen[Recovered][incrName]);
        var tar = Tool.Run("tar", "-xzpf", _t["cedar/saturday-incr.tar.gz"], "-C", extracted);
        Assert.True(tar.ExitCode == 0, tar.All);
        var inArchive = TreeState.Of(extracted + client.Data);
        var lastStaged = client.Expected[1];
        var saturday = client.Expected[Recovered];
        var changed = saturday.Where(e => e.Key.StartsWith("tree/") && (!lastStaged.TryGetValue(e.Key, out var v) || v != e.Value)).ToList();
        Assert.True(changed.Count >= 4, string.Join("\n", changed.Select(c => c.Key)));
        foreach (var (path, state) in changed)
            if (!inArchive.TryGetValue(path, out var got) || got != state)
                problems.Add($"Saturday's {incrName} lacks {path} as of Saturday ({state}); it holds: {(got ?? "nothing")}");

        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n" + string.Join("\n\n", problems));
    }
}
