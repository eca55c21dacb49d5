using System.IO.Compression;
using System.Text;
using System.Text.Json;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>The manifest as CollectArchives writes it and reads yesterday's (issue 17 point 8: without parsing every path).</summary>
[Trait("Tier", "Fast")]
public class CollectManifestTests
{
    private static string Write(TempDir t, string date)
    {
        var path = t[CollectManifest.FileName];
        using var writer = new CollectManifestWriter(path, date);
        writer.BeginItem();
        writer.AddPath(Encoding.UTF8.GetBytes("/srv/a+b<c>&d"));
        writer.AddPath(new byte[] { (byte)'/', (byte)'x', 0xFF });
        var item = new CollectManifestItem
        {
            Source = "/srv", Stem = "srv", Mode = "incr", Complete = false, Since = "2026-11-23",
            Links = new() { new CollectManifestNames { Paths = { "srv/one", "srv/two" } }, new CollectManifestNames { Paths = { "srv/r" }, RawPaths = new() { "/w==" } } },
            Folders = new()
            {
                new CollectManifestFolder { Path = "srv", Mode = 493, Uid = 0, Gid = 4, Mtime = 1796414219 },
                new CollectManifestFolder { RawPath = "/w==", Mode = 448, Uid = 1000, Gid = 1000, Mtime = 1 },
            },
        };
        writer.EndItem(item);
        writer.Commit();
        return path;
    }

    [Fact]
    public void The_date_is_read_from_the_first_bytes()
    {
        using var t = new TempDir();
        var path = Write(t, "2026-12-04");
        using var stream = File.OpenRead(path);
        Assert.Equal("2026-12-04", CollectManifest.PeekDate(stream));
    }

    [Fact]
    public void A_manifest_whose_date_does_not_come_first_gives_no_date_and_garbage_is_refused()
    {
        using var t = new TempDir();
        var path = t["m.json.gz"];
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gz.Write("{\"version\":1,\"items\":[{\"paths\":[]}],\"date\":\"2026-12-04\"}"u8);
        using (var stream = File.OpenRead(path)) Assert.Null(CollectManifest.PeekDate(stream));
        File.WriteAllBytes(path, "not gzip"u8.ToArray());
        using (var stream = File.OpenRead(path)) Assert.Throws<InvalidDataException>(() => CollectManifest.PeekDate(stream));
    }

    [Fact]
    public void Links_and_folders_written_by_hand_read_back_as_the_serializer_wrote_them()
    {
        using var t = new TempDir();
        var path = Write(t, "2026-12-04");
        using var stream = File.OpenRead(path);
        var manifest = CollectManifest.Read(stream);
        var item = Assert.Single(manifest.Items);
        Assert.Equal(new[] { "srv/a+b<c>&d" }, item.Paths);
        Assert.Equal(new[] { "eP8=" }, item.RawPaths);
        Assert.Equal("2026-11-23", item.Since);
        Assert.Null(item.Archive);
        Assert.Equal(2, item.Links!.Count);
        Assert.Equal(new[] { "srv/one", "srv/two" }, item.Links[0].Paths);
        Assert.Null(item.Links[0].RawPaths);
        Assert.Equal(new[] { "/w==" }, item.Links[1].RawPaths);
        Assert.Equal(2, item.Folders!.Count);
        Assert.Equal(("srv", (string?)null, 493u, 0u, 4u, 1796414219L),
            (item.Folders[0].Path, item.Folders[0].RawPath, item.Folders[0].Mode, item.Folders[0].Uid, item.Folders[0].Gid, item.Folders[0].Mtime));
        Assert.Equal(((string?)null, "/w==", 448u, 1000u, 1000u, 1L),
            (item.Folders[1].Path, item.Folders[1].RawPath, item.Folders[1].Mode, item.Folders[1].Uid, item.Folders[1].Gid, item.Folders[1].Mtime));

        // The same JSON the serializer gives for these objects (nulls left out, declared order, the writer's escaping).
        stream.Position = 0;
        using var gz = new GZipStream(stream, CompressionMode.Decompress);
        var text = new StreamReader(gz).ReadToEnd();
        var options = new JsonSerializerOptions
        {
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        Assert.Contains("\"links\":" + JsonSerializer.Serialize(item.Links, options), text);
        Assert.Contains("\"folders\":" + JsonSerializer.Serialize(item.Folders, options), text);
    }
}
