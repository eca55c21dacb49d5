using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Restore's tar reader reads what Collect writes — plain, gzip of many members, bzip2 of many streams (small
/// chunks force many), long names and link targets — and what Python's tarfile writes in pax and ustar format.
/// </summary>
public class TarReaderTests
{
    private static Dictionary<string, (TarMemberKind Kind, byte[] Data, string Link, long Mtime)> ReadAll(string archive)
    {
        var result = new Dictionary<string, (TarMemberKind, byte[], string, long)>();
        using var raw = File.OpenRead(archive);
        using var tar = ArchiveStreams.OpenTar(raw);
        var reader = new TarReader(tar);
        while (reader.Next() is { } m)
        {
            using var data = new MemoryStream();
            if (m.Kind == TarMemberKind.File) reader.Content.CopyTo(data);
            result[m.Name] = (m.Kind, data.ToArray(), m.LinkName, m.Mtime);
        }
        return result;
    }

    [Theory]
    [InlineData(ArchiveFormat.Tar)]
    [InlineData(ArchiveFormat.TarGz)]
    [InlineData(ArchiveFormat.TarBz2)]
    public void Reads_collects_archives_across_many_compressed_chunks(ArchiveFormat format)
    {
        using var t = new TempDir();
        var files = new List<string>();
        var random = new Random(42);
        for (var i = 0; i < 40; i++)
        {
            var name = i % 7 == 0 ? t[$"src/{new string('x', 150)}/{i}-{new string('y', 110)}.bin"] : t[$"src/f{i}.bin"];
            Directory.CreateDirectory(Path.GetDirectoryName(name)!);
            var data = new byte[random.Next(0, 20_000)];
            random.NextBytes(data);
            File.WriteAllBytes(name, data);
            files.Add(name);
        }
        var link = t["src/link"];
        File.CreateSymbolicLink(link, new string('z', 180));
        files.Add(link);
        var archive = t["a" + Archives.Extension(format)];
        Archives.Write(archive, files, format, threads: 2, chunkSize: format == ArchiveFormat.Tar ? null : 8192);

        var read = ReadAll(archive);
        Assert.Equal(files.Count, read.Count);
        foreach (var f in files.Where(f => f != link))
        {
            var m = read[f.TrimStart('/')];
            Assert.Equal(TarMemberKind.File, m.Kind);
            Assert.Equal(File.ReadAllBytes(f), m.Data);
        }
        Assert.Equal(TarMemberKind.Symlink, read[link.TrimStart('/')].Kind);
        Assert.Equal(new string('z', 180), read[link.TrimStart('/')].Link);
    }

    [Theory]
    [InlineData("PAX_FORMAT", "w:gz")]
    [InlineData("USTAR_FORMAT", "w:bz2")]
    [InlineData("GNU_FORMAT", "w")]
    public void Reads_pythons_tar_formats(string format, string mode)
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        var archive = t["py.tar"];
        var longDir = new string('d', 120);
        File.WriteAllText(t["make.py"], $$"""
            import io, tarfile
            with tarfile.open('{{archive}}', '{{mode}}', format=tarfile.{{format}}) as tar:
                for name, data in [('srv/ünïcode name.txt', b'caf\xc3\xa9'), ('srv/{{longDir}}/file.txt', b'deep')]:
                    info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1780000123
                    tar.addfile(info, io.BytesIO(data))
                info = tarfile.TarInfo('srv/link'); info.type = tarfile.SYMTYPE; info.linkname = 'ünïcode name.txt'
                tar.addfile(info)
            """);
        var made = Tool.Run(python, t["make.py"]);
        Assert.True(made.ExitCode == 0, made.All);
        var read = ReadAll(archive);
        Assert.Equal("café"u8.ToArray(), read["srv/ünïcode name.txt"].Data);
        Assert.Equal(1780000123, read["srv/ünïcode name.txt"].Mtime);
        Assert.Equal("deep"u8.ToArray(), read[$"srv/{longDir}/file.txt"].Data);
        Assert.Equal("ünïcode name.txt", read["srv/link"].Link);
    }

    [Fact]
    public void A_truncated_or_damaged_archive_is_an_error_not_a_silent_end()
    {
        using var t = new TempDir();
        var f = t.File("src/a.txt", new string('a', 5000));
        var archive = t["a.tar"];
        Archives.Write(archive, new[] { f }, ArchiveFormat.Tar);
        var bytes = File.ReadAllBytes(archive);
        File.WriteAllBytes(t["cut.tar"], bytes[..2000]);
        Assert.Throws<InvalidDataException>(() => ReadAll(t["cut.tar"]));
        bytes[5] ^= 0x20; // inside the name: the header checksum no longer matches
        File.WriteAllBytes(t["bad.tar"], bytes);
        Assert.Throws<InvalidDataException>(() => ReadAll(t["bad.tar"]));
    }
}
