using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// A corpus of broken projects: every item type with a metadata value missing, empty, of the wrong type,
/// pointing nowhere or relative where an absolute path is needed, unknown modes, negative retain days. Each
/// gets its own coded error (the test checks the code, not the wording) and no data is touched: the collect
/// dir holds nothing, no staging dir appears and an old file in the source folder is still there.
/// </summary>
public sealed class BadConfigurationTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    // name, target, item type, Include ({T} = the test folder), metadata "Name=Value;…", properties "Name=Value;…", code
    public static TheoryData<string, string, string, string, string, string, string> Corpus => new()
    {
        { "CollectDirectory relative", "Validate", "CollectDirectory", "relative/dir", "", "", "BKP1020" },
        { "CollectDirectory pointing nowhere", "Validate", "CollectDirectory", "{T}/missing", "", "", "BKP2101" },
        { "CollectDirectory naming a file", "Validate", "CollectDirectory", "{T}/file.txt", "", "", "BKP2101" },
        { "CollectDirectory unknown CollectMode", "Validate", "CollectDirectory", "{T}/src", "CollectMode=hourly", "", "BKP1021" },
        { "CollectDirectory unknown ArchiveMode", "Validate", "CollectDirectory", "{T}/src", "ArchiveMode=zip", "", "BKP1022" },
        { "CollectDirectory negative LinkDepth", "Validate", "CollectDirectory", "{T}/src", "LinkDepth=-1", "", "BKP1008" },
        { "CollectDirectory LinkDepth not a number", "Validate", "CollectDirectory", "{T}/src", "LinkDepth=deep", "", "BKP1008" },
        { "CollectDirectory Dereference not a flag", "Validate", "CollectDirectory", "{T}/src", "Dereference=maybe", "", "BKP1006" },
        { "CollectDirectory RecursionLevel not a number", "Validate", "CollectDirectory", "{T}/src", "RecursionLevel=x", "", "BKP1007" },
        { "CollectDirectory relative ExcludePaths", "Validate", "CollectDirectory", "{T}/src", "ExcludePaths=relative/x", "", "BKP1025" },
        { "CollectDirectory bad ExcludePatterns", "Validate", "CollectDirectory", "{T}/src", "ExcludePatterns=([", "", "BKP1026" },
        { "CollectDirectory IgnoreFile with a slash", "Validate", "CollectDirectory", "{T}/src", "IgnoreFile=a/b", "", "BKP1023" },
        { "CollectDirectory unknown mode via Collect", "Collect", "CollectDirectory", "{T}/src", "CollectMode=hourly", "", "BKP1021" },
        { "CollectFile relative", "Validate", "CollectFile", "file.txt", "", "", "BKP1020" },
        { "CollectFile pointing nowhere", "Validate", "CollectFile", "{T}/nofile", "", "", "BKP2102" },
        { "CollectFile naming a folder", "Validate", "CollectFile", "{T}/src", "", "", "BKP2102" },
        { "CollectFile unknown CollectMode", "Validate", "CollectFile", "{T}/file.txt", "CollectMode=often", "", "BKP1021" },
        { "CollectFile unknown ArchiveMode", "Collect", "CollectFile", "{T}/file.txt", "ArchiveMode=rar", "", "BKP1022" },
        { "Peer Type missing", "Validate", "Peer", "p1", "CollectDir={T}/src", "", "BKP3004" },
        { "Peer Type unknown", "Stage", "Peer", "p1", "Type=lokal;CollectDir={T}/src", "", "BKP3005" },
        { "Peer CollectDir missing", "Validate", "Peer", "p1", "Type=local", "", "BKP3006" },
        { "Peer CollectDir empty", "Stage", "Peer", "p1", "Type=local;CollectDir=", "", "BKP3006" },
        { "Peer CollectDir relative", "Validate", "Peer", "p1", "Type=local;CollectDir=rel/x", "", "BKP3007" },
        { "Peer IgnoreFailures unknown", "Validate", "Peer", "p1", "Type=local;CollectDir={T}/src;IgnoreFailures=never", "", "BKP3008" },
        { "Peer Managed not a flag", "Validate", "Peer", "p1", "Type=remote;CollectDir=/x;Managed=maybe", "", "BKP3032" },
        { "PurgeDirectory negative RetainDays", "Purge", "PurgeDirectory", "{T}/src", "RetainDays=-1", "", "BKP5003" },
        { "PurgeDirectory RetainDays not a number", "Validate", "PurgeDirectory", "{T}/src", "RetainDays=week", "", "BKP5003" },
        { "PurgeDirectory RetainDays missing", "Purge", "PurgeDirectory", "{T}/src", "", "", "BKP5002" },
        { "PurgeDirectory RetainDays empty", "Validate", "PurgeDirectory", "{T}/src", "RetainDays=", "", "BKP5002" },
        { "PurgeDirectory relative", "Validate", "PurgeDirectory", "rel/p", "RetainDays=3", "", "BKP5001" },
        { "PurgeDirectory pointing nowhere", "Purge", "PurgeDirectory", "{T}/nowhere", "RetainDays=3", "", "BKP5010" },
        { "SubversionRepository relative", "Collect", "SubversionRepository", "rel/svn", "", "", "BKP1010" },
        { "SubversionRepository unknown CollectMode", "Collect", "SubversionRepository", "{T}/src", "CollectMode=hourly", "", "BKP6100" },
        { "SubversionRepository unknown CompressMode", "Collect", "SubversionRepository", "{T}/src", "CompressMode=zip", "", "BKP6101" },
        { "GitRepository relative", "Collect", "GitRepository", "rel/repo", "", "", "BKP1010" },
        { "GitRepository unknown CollectMode", "Collect", "GitRepository", "{T}/src", "CollectMode=monthly", "", "BKP6100" },
        { "MboxFile relative", "Collect", "MboxFile", "mail/root", "", "", "BKP1010" },
        { "MboxFile pointing nowhere", "Collect", "MboxFile", "{T}/nombox", "", "", "BKP6132" },
        { "MboxDirectory bad ExcludePatterns", "Collect", "MboxDirectory", "{T}/src", "ExcludePatterns=([", "", "BKP6130" },
        { "StoreMediaType unknown", "Validate", "", "", "", "StoreMediaType=floppy", "BKP1030" },
        { "StoreImageCapacity not a size", "Validate", "", "", "", "StoreMediaType=image;StoreImageCapacity=lots", "BKP1031" },
        { "StartingDay unknown", "Validate", "", "", "", "StartingDay=Funday", "BKP1002" },
        { "BackupLockWaitSeconds negative", "Validate", "", "", "", "BackupLockWaitSeconds=-5", "BKP1008" },
        { "CompressionLevel unknown", "Validate", "", "", "", "CompressionLevel=11", "BKP1028" },
        { "CollectDir relative", "Validate", "", "", "", "CollectDir=rel/collect", "BKP1010" },
        { "CollectMode unknown", "Validate", "", "", "", "CollectMode=sometimes", "BKP1012" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Each_broken_project_gets_its_own_code_before_any_data_is_touched(string name, string target, string itemType,
        string include, string metadata, string properties, string code)
    {
        _ = name;
        var old = _t.File("src/a.txt", "a");
        File.SetLastWriteTimeUtc(old, new DateTime(2020, 1, 1));
        File.SetLastAccessTimeUtc(old, new DateTime(2020, 1, 1));
        _t.File("file.txt", "f");
        string Sub(string s) => s.Replace("{T}", _t.Path);
        var p = new BackupProject(_t.Path);
        foreach (var pair in properties.Split(';', StringSplitOptions.RemoveEmptyEntries))
            p.Property(pair[..pair.IndexOf('=')], Sub(pair[(pair.IndexOf('=') + 1)..]));
        if (itemType != "")
            p.Item(itemType, Sub(include), metadata.Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(m => (m[..m.IndexOf('=')], Sub(m[(m.IndexOf('=') + 1)..]))).ToArray());

        var r = p.Run(target, "BackupRunDate=2026-11-24T01:00");

        Assert.Equal(1, r.ExitCode);
        Assert.True(r.Output.Contains("error " + code), $"expected error {code}:\n{r.Output}");
        // Nothing was touched: no archive, no staging, the old file a purge would remove is still there.
        var collected = Directory.Exists(p.CollectDir) ? Directory.EnumerateFileSystemEntries(p.CollectDir).ToList() : new List<string>();
        Assert.True(collected.Count == 0, "the collect dir is not empty: " + string.Join(", ", collected));
        Assert.False(Directory.Exists(p.StagingDir));
        Assert.True(File.Exists(old));
    }
}
