using System.Diagnostics;
using System.Text;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 5: a remote peer's listing (find -printf '%y %s %T@ %f\0' on the peer) is untrusted
/// input. The parser is fuzzed directly with random and mutated records; the end-to-end test runs
/// `dotnet msbuild` against a real sshd whose forced commands answer with hostile listings.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ListingFuzzTests
{
    private const string Types = "bcdpflsD";

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Valid(params string[] records) => string.Concat(records.Select(r => r + "\0"));

    /// <summary>What every accepted entry must satisfy, whatever the input was.</summary>
    private static void AssertSane(List<RemoteEntry> entries)
    {
        Assert.Equal(entries.Count, entries.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var e in entries)
        {
            Assert.Contains(e.Type, Types);
            Assert.InRange(e.Size, 0, RemoteListing.MaxFileSize);
            var name = PosixPath.Encode(e.Name);
            Assert.InRange(name.Length, 1, 255);
            Assert.DoesNotContain((byte)'/', name);
            Assert.DoesNotContain((byte)0, name);
            Assert.NotEqual(".", e.Name);
            Assert.NotEqual("..", e.Name);
        }
    }

    [Fact]
    public void A_valid_listing_is_read_exactly_with_odd_but_legal_names()
    {
        var odd = new byte[] { (byte)'x', 0xff, (byte)'\n', (byte)' ', (byte)'y' }; // invalid UTF-8, a newline, a space
        var listing = Bytes(Valid("f 123 1732500000.1234567890 srv.tar.gz", "f 0 1732500001.0000000000 cback.collect",
                "d 4096 -1.5000000000 old", "l 9 0.0000000000 with space.tar"))
            .Concat(Bytes("f 5 1700000000.0 ")).Concat(odd).Append((byte)0).ToArray();

        Assert.True(RemoteListing.TryParse(listing, out var entries, out var problem), problem?.Reason);

        Assert.Equal(5, entries.Count);
        Assert.Equal(new RemoteEntry('f', 123, 1732500000, "srv.tar.gz"), entries[0]);
        Assert.Equal(-2, entries[2].MtimeSeconds); // rounded down, as a staged copy's time is compared
        Assert.Equal("with space.tar", entries[3].Name);
        Assert.Equal(odd, PosixPath.Encode(entries[4].Name));
        AssertSane(entries);
    }

    [Theory]
    [InlineData("f 99999999999999999999999 1700000000.0 a.tar", "size")]    // overflowed long.Parse before
    [InlineData("f -5 1700000000.0 a.tar", "size")]
    [InlineData("f 1125899906842625 1700000000.0 a.tar", "size")]           // over 1 PiB
    [InlineData("f 12 1e9 a.tar", "time")]                                  // crashed double.Parse's caller before
    [InlineData("f 12 NaN a.tar", "time")]
    [InlineData("f 12 99999999999999999999.0 a.tar", "time")]
    [InlineData("f 12 1700000000. a.tar", "time")]
    [InlineData("f 12 1700000000.0", "time")]                               // no name
    [InlineData("f 12 1700000000.0 ", "name")]                              // empty name
    [InlineData("f 12 1700000000.0 ../../etc/passwd", "name")]
    [InlineData("f 12 1700000000.0 ..", "name")]
    [InlineData("f 12 1700000000.0 .", "name")]
    [InlineData("x 12 1700000000.0 a.tar", "type")]
    [InlineData("ff 12 1700000000.0 a.tar", "type")]
    [InlineData("f  12 1700000000.0 a.tar", "size")]                        // two spaces
    [InlineData("", "type")]
    [InlineData("f", "type")]
    [InlineData("f 12", "size")]
    public void A_bad_record_refuses_the_whole_listing_naming_the_record(string bad, string what)
    {
        var listing = Bytes(Valid("f 0 1700000000.0 cback.collect", "f 3 1700000000.0 ok.tar", bad, "f 1 1700000000.0 later.tar"));

        Assert.False(RemoteListing.TryParse(listing, out var entries, out var problem));

        Assert.Empty(entries);
        Assert.Equal(3, problem!.Record);
        Assert.Contains(what, problem.Reason);
        Assert.DoesNotContain('\0', problem.Excerpt);
    }

    [Fact]
    public void Duplicates_an_unterminated_record_a_long_name_and_a_huge_listing_are_refused()
    {
        Assert.False(RemoteListing.TryParse(Bytes(Valid("f 1 1.0 a", "f 2 2.0 a")), out _, out var p));
        Assert.Equal(2, p!.Record);
        Assert.False(RemoteListing.TryParse(Bytes(Valid("f 1 1.0 a") + "f 2 2.0 b"), out _, out p));
        Assert.Contains("NUL", p!.Reason);
        Assert.False(RemoteListing.TryParse(Bytes(Valid("f 1 1.0 " + new string('n', 256))), out _, out p));
        Assert.Contains("255", p!.Reason);
        Assert.True(RemoteListing.TryParse(Bytes(Valid("f 1 1.0 " + new string('n', 255))), out _, out _));
        var sizes = string.Concat(Enumerable.Range(0, 5000).Select(i => $"f {RemoteListing.MaxFileSize} 1.0 n{i}\0"));
        Assert.False(RemoteListing.TryParse(Bytes(sizes), out _, out p));            // the sum would overflow a long
        Assert.Contains("add up", p!.Reason);
        var huge = new byte[RemoteListing.MaxBytes + 1];
        Assert.False(RemoteListing.TryParse(huge, out _, out p));
        // A control character in a hostile record is shown escaped in the log line.
        Assert.False(RemoteListing.TryParse(Bytes(Valid("q 1 1.0 a\nerror BKP0000: fake")), out _, out p));
        Assert.DoesNotContain('\n', p!.Excerpt);
    }

    [Fact]
    public void Random_bytes_never_crash_the_parser_and_whatever_it_accepts_is_sane()
    {
        var random = new Random(15_05);
        var alphabet = Bytes("fdlpx 0123456789.-/\0\0\0 ab\n").Concat(new byte[] { 0xff, 0xc3 }).ToArray();
        var accepted = 0;
        for (var i = 0; i < 20000; i++)
        {
            var length = random.Next(0, 120);
            var bytes = new byte[length];
            for (var j = 0; j < length; j++)
                bytes[j] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            if (RemoteListing.TryParse(bytes, out var entries, out var problem))
            {
                accepted++;
                AssertSane(entries);
            }
            else
            {
                Assert.NotNull(problem);
                Assert.Empty(entries);
            }
        }
        Assert.True(accepted > 0, "no random input was valid: the generator is too far from real listings");
    }

    [Fact]
    public void Mutated_real_listings_never_crash_the_parser_and_whatever_it_accepts_is_sane()
    {
        var random = new Random(15_50);
        var real = Bytes(Valid("f 1048576 1732500000.1234567890 srv-web.tar.gz", "f 2048 1732500000.5000000000 etc-web with space.tar",
            "f 0 1732500001.0000000000 cback.collect", "f 0 1732500002.0000000000 cback.stage"));
        var interesting = Bytes("/.- \0\n9e+").Concat(new byte[] { 0xff, 0x80 }).ToArray();
        int accepted = 0, refused = 0;
        for (var i = 0; i < 20000; i++)
        {
            var bytes = real.ToList();
            for (var m = random.Next(1, 4); m > 0; m--)
            {
                var at = random.Next(bytes.Count + 1);
                switch (random.Next(6))
                {
                    case 0: if (at < bytes.Count) bytes[at] = interesting[random.Next(interesting.Length)]; break;
                    case 1: if (at < bytes.Count) bytes[at] = (byte)random.Next(256); break;
                    case 2: if (at < bytes.Count) bytes.RemoveAt(at); break;
                    case 3: bytes.Insert(at, interesting[random.Next(interesting.Length)]); break;
                    case 4: bytes.InsertRange(at, Bytes(new string('9', random.Next(1, 40)))); break;
                    default: bytes.InsertRange(at, bytes.Take(random.Next(bytes.Count)).ToList()); break; // repeated records
                }
            }
            if (RemoteListing.TryParse(bytes.ToArray(), out var entries, out var problem))
            {
                accepted++;
                AssertSane(entries);
            }
            else
            {
                refused++;
                Assert.NotNull(problem);
                Assert.Empty(entries);
            }
        }
        Assert.True(accepted > 0 && refused > 0, $"{accepted} accepted, {refused} refused");
    }

    [Fact]
    public void An_endless_output_is_cut_off_while_it_is_read()
    {
        // cat /dev/zero never ends: only a bound enforced while reading lets this return.
        var clock = Stopwatch.StartNew();
        var r = ProgramRunner.Run("cat", new[] { "/dev/zero" }, TimeSpan.FromMinutes(2), CancellationToken.None, new ProgramOptions { OutputLimit = RemoteListing.MaxBytes });
        Assert.True(r.Overflowed);
        Assert.False(r.Succeeded);
        Assert.Empty(r.Output);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), clock.Elapsed.ToString());

        // Endless standard error keeps only its end.
        var e = ProgramRunner.Run("sh", new[] { "-c", "head -c 50000000 /dev/zero | tr '\\0' x >&2; echo last words >&2" },
            TimeSpan.FromMinutes(2), CancellationToken.None, new ProgramOptions { OutputLimit = 10 });
        Assert.True(e.Succeeded);
        Assert.True(e.Error.Length <= ProgramRunner.ErrorTail);
        Assert.EndsWith("last words\n", e.Error);
    }
}

/// <summary>
/// End to end: one Stage run over a real sshd with a good remote peer, a good local peer and hostile
/// remote peers, each reached with its own key whose forced command answers the listing with what the
/// attacker chose (and runs rsync and touch as usual).
/// </summary>
public sealed class ListingFuzzEndToEndTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public ListingFuzzEndToEndTests(SshServer ssh, Xunit.Abstractions.ITestOutputHelper output)
    {
        _ssh = ssh;
        _out = output;
    }

    [Fact]
    public void Hostile_listings_are_each_their_peers_coded_error_and_the_rest_of_the_pool_is_staged()
    {
        using var t = new TempDir();
        var secretPath = t["root-only/id_ed25519"];
        var secret = StagingAudit.WriteSecret(secretPath);

        var good = t.Dir("peers/good/collect");
        File.WriteAllBytes(Path.Combine(good, "srv-good.tar.gz"), RandomBytes(5000, 1));
        File.WriteAllText(Path.Combine(good, "cback.collect"), "");
        var local = t.Dir("peers/local/collect");
        File.WriteAllText(Path.Combine(local, "etc-local.tar"), "local archive");
        File.WriteAllText(Path.Combine(local, "cback.collect"), "");

        // Each hostile peer has a real collect dir (a link to the secret, an unlisted folder and file…)
        // and answers find with a listing of its choice.
        var script = t.File("hostile-peer", """
            #!/bin/sh
            # forced command: $1 is the listing to answer find with, or "huge"
            case "$SSH_ORIGINAL_COMMAND" in
              find\ *)
                if [ "$1" = huge ]; then
                  seq 1 100000000 | sed 's/.*/f 1 1700000000.0000000000 n&.tar/' | tr '\n' '\0' | head -c 1500M
                else
                  cat "$1"
                fi ;;
              *) exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
            esac
            """);
        File.SetUnixFileMode(script, (UnixFileMode)0x1ED);
        var random = new Random(1505);
        var mutated = Bytes("f 0 1700000000.0 cback.collect\0f 10 1700000000.0 a.tar\0").ToArray();
        for (var i = 0; i < 6; i++) mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
        var hostile = new (string Name, string Code, byte[]? Listing)[]
        {
            ("garbage", "BKP3103", RandomBytes(4096, 2)),
            ("mutated", "BKP3103", mutated),
            ("overflow", "BKP3103", Bytes("f 0 1700000000.0 cback.collect\0f 99999999999999999999999 1700000000.0 a.tar\0")),
            ("badtime", "BKP3103", Bytes("f 0 1700000000.0 cback.collect\0f 10 1e9 a.tar\0")),
            ("climber", "BKP3103", Bytes("f 0 1700000000.0 cback.collect\0f 10 1700000000.0 ../../root-only/id_ed25519\0")),
            ("cut", "BKP3103", Bytes("f 0 1700000000.0 cback.collect\0f 10 1700000000.0 a.tar")),
            ("huge", "BKP3102", null),
            ("liar", "BKP3104", null), // written below from its real collect dir; copied with rsync
            ("scpliar", "BKP3104", null), // the same, copied over the connection (RemoteCopy "ssh", the default)
        };
        var keys = new List<(string Key, string? Command)> { (_ssh.ClientKey, null) };
        var p = new BackupProject(t.Path)
            .Item("Peer", "good", _ssh.PeerMetadata(good))
            .Item("Peer", "local", ("Type", "local"), ("CollectDir", local));
        var collectDirs = new Dictionary<string, string>();
        foreach (var (name, _, listing) in hostile)
        {
            var dir = t.Dir($"peers/{name}/collect");
            File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
            File.WriteAllText(Path.Combine(dir, "data.tar"), new string('d', 50));
            File.CreateSymbolicLink(Path.Combine(dir, "a.tar"), secretPath);
            t.File($"peers/{name}/collect/sub/inner.tar", "an unlisted folder's file");
            File.WriteAllText(Path.Combine(dir, "unlisted.tar"), "not in the listing");
            collectDirs[name] = dir;
            var answer = listing ?? (name is "liar" or "scpliar"
                ? Bytes($"f 0 1700000000.0 cback.collect\0f 100 1700000000.0 data.tar\0f {secret.Length} 1700000000.0 a.tar\0")
                : null);
            var listingFile = answer == null ? "huge" : t.File($"listings/{name}", "");
            if (answer != null) File.WriteAllBytes(listingFile, answer);
            var key = _ssh.NewKey("key-" + name);
            keys.Add((key, $"{script} {listingFile}"));
            p.Item("Peer", name, name == "liar" ? _ssh.PeerMetadata(dir, ("IdentityFile", key), ("RemoteCopy", "rsync"))
                : _ssh.PeerMetadata(dir, ("IdentityFile", key)));
        }
        _ssh.Authorize(keys.ToArray());
        var before = collectDirs.ToDictionary(c => c.Key, c => StagingAudit.Exact(c.Value));

        var (run, peakKb, elapsed) = RunMeasured(p, "Stage", "BackupRunDate=2026-11-24T02:00");
        _out.WriteLine($"dotnet msbuild: peak resident memory {peakKb} kB, {elapsed}");

        Assert.Equal(1, run.ExitCode);
        Assert.DoesNotContain("MSB4018", run.Output);
        foreach (var (name, code, _) in hostile)
            Assert.True(run.Output.Contains($"error {code}: Peer \"{name}\""), $"{name}: no {code}\n{run.Output}");
        Assert.True(run.Output.Contains("error BKP3104: Peer \"liar\": the copy from root@127.0.0.1 held \"sub\", which is a folder"), run.Output);
        Assert.True(run.Output.Contains("error BKP3104: Peer \"liar\": the copy from root@127.0.0.1 held \"unlisted.tar\", which was not in the peer's listing"), run.Output);
        Assert.True(run.Output.Contains("error BKP3104: Peer \"liar\": the copy from root@127.0.0.1 held \"data.tar\", which has 50 bytes where the listing said 100"), run.Output);
        Assert.True(run.Output.Contains("error BKP3055: The copy of peer \"liar\""), run.Output); // a.tar (a link on the peer) never arrived
        // Over the connection the first file that differs from the listing stops the copy before a byte of it is written.
        Assert.True(run.Output.Contains("error BKP3104: Peer \"scpliar\": the copy from root@127.0.0.1 held \"data.tar\", which has 50 bytes where the listing said 100"), run.Output);

        var day = Path.Combine(p.StagingDir, "2026/11/24");
        Assert.True(File.Exists(Path.Combine(day, Indicators.Stage)), "the day was not marked staged");
        Assert.Equal(File.ReadAllBytes(Path.Combine(good, "srv-good.tar.gz")), File.ReadAllBytes(Path.Combine(day, "good", "srv-good.tar.gz")));
        Assert.Equal("local archive", File.ReadAllText(Path.Combine(day, "local", "etc-local.tar")));
        Assert.True(File.Exists(Path.Combine(good, Indicators.Stage)));
        StagingAudit.AssertClean(p.StagingDir, day, secret);
        foreach (var (name, _, _) in hostile)
        {
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(day, name)));
            Assert.Equal(before[name], StagingAudit.Exact(collectDirs[name])); // untouched: no cback.stage either
        }
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(secretPath)!).Where(f => !f.EndsWith("id_ed25519")));

        // A 1.5 GB listing held in memory is gigabytes; cut off at 16 MiB it costs next to nothing.
        Assert.True(peakKb is > 0 and < 700_000, $"dotnet msbuild peaked at {peakKb} kB");
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] RandomBytes(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Runs dotnet msbuild and samples the peak resident memory (VmHWM) of it and its children until it exits.</summary>
    private static (Tool.Result Run, long PeakKb, TimeSpan Elapsed) RunMeasured(BackupProject p, string target, params string[] properties)
    {
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = p.Start(output, target, properties);
        long peak = 0;
        while (!process.WaitForExit(50))
        {
            peak = Math.Max(peak, TreePeakKb(process.Id));
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("dotnet msbuild did not finish:\n" + output);
            }
        }
        process.WaitForExit();
        lock (output) return (new Tool.Result(process.ExitCode, output.ToString(), ""), peak, clock.Elapsed);
    }

    private static long TreePeakKb(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1]);
                if (!children.TryGetValue(parent, out var list)) children[parent] = list = new List<int>();
                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        }
        long peak = 0;
        var pending = new Stack<int>(new[] { root });
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
                if (line != null) peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
            foreach (var c in children.GetValueOrDefault(pid) ?? new List<int>()) pending.Push(c);
        }
        return peak;
    }
}
