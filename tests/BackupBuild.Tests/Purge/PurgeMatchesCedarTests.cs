using System.Globalization;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Purge;

/// <summary>
/// The same tree purged by Cedar Backup 3's own PurgeItemList and by PurgeFiles, twice each, must
/// leave the same paths. Cedar uses the real clock, so the file times are set relative to it.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class PurgeMatchesCedarTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void Leaves_the_same_tree_as_cedar_backup(int retainDays)
    {
        Tool.Require("cback3");
        var now = DateTime.UtcNow;
        // Times are whole seconds away from a day boundary by at least an hour, so the few seconds
        // between the two runs cannot change a verdict.
        var ages = new[] { 0.1, 0.9, 1.1, 6.5, 6.99, 7.05, 8, 30 };
        foreach (var side in new[] { "cedar", "ours" })
        {
            var root = _temp.Dir(side);
            for (var i = 0; i < ages.Length; i++)
            {
                var age = TimeSpan.FromDays(ages[i]);
                Used(_temp.File($"{side}/f{i}.tar", "data"), now - age, now - age);
                Used(_temp.File($"{side}/2026/11/{20 + i}/master/a.tar.gz", "data"), now - age, now - age);
                Used(_temp.File($"{side}/2026/11/{20 + i}/cback.stage"), now - 2 * age, now - age);
                Used(_temp.File($"{side}/read/{i}.tar"), now - TimeSpan.FromDays(0.5), now - age);
            }
            _temp.Dir($"{side}/2026/11/20/ghost");
            _temp.Dir($"{side}/deep/a/b/c");
            // Outside the tree: Cedar leaves a link whose target it removed earlier in the same pass
            // (it dangles, and Cedar skips dangling links); PurgeFiles removes it (docs/actions/purge.md).
            File.CreateSymbolicLink(Path.Combine(root, "2026/zz-link"), _temp.File("outside.txt"));
            Directory.CreateSymbolicLink(Path.Combine(root, "linkdir"), Path.Combine(root, "read"));
        }

        for (var run = 1; run <= 2; run++)
        {
            var cedar = Tool.Run("/usr/bin/python3", "-c",
                "import sys\nfrom CedarBackup3.filesystem import PurgeItemList\n" +
                "l = PurgeItemList(); l.addDirContents(sys.argv[1]); l.removeYoungFiles(int(sys.argv[2])); l.purgeItems()",
                _temp["cedar"], retainDays.ToString(CultureInfo.InvariantCulture));
            Assert.True(cedar.ExitCode == 0, cedar.All);

            var f = new PurgeFixture();
            try
            {
                var task = new BackupBuild.Tasks.Purge.PurgeFiles
                {
                    BuildEngine = f.Engine,
                    PurgeDirectories = new[] { PurgeFixture.Dir(_temp["ours"], retainDays.ToString(CultureInfo.InvariantCulture)) },
                    WorkingDir = f.WorkingDir,
                    RunSettings = PropsDefaults.Run(DateTime.Now.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)),
                    PurgeSettings = PropsDefaults.Purge(),
                };
                Assert.True(task.Execute(), f.Engine.AllText);
            }
            finally
            {
                f.Dispose();
            }

            Assert.Equal(Tree(_temp["cedar"]), Tree(_temp["ours"]));
        }
    }

    private static void Used(string path, DateTime accessUtc, DateTime writeUtc)
    {
        File.SetLastWriteTimeUtc(path, writeUtc);
        File.SetLastAccessTimeUtc(path, accessUtc);
    }

    private static List<string> Tree(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToList();
}
