using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// Restore's tar reader reads what Collect writes — plain, gzip of many members, bzip2 of many streams (small
/// chunks force many), long names and link targets — and what Python's tarfile writes in pax and ustar format.
/// </summary>
[Trait("Tier", "Fast")]
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

    /// <summary>Names that are not UTF-8, in every place a tar keeps a name, as Python's tarfile writes them.</summary>
    internal const string OddNamesScript = """
        import io, os, sys, tarfile
        LONG = b'srv/' + b'\xe9' * 60 + b'/' + b'n\xff' * 40 + b'.txt'
        FILES = [(b'srv/caf\xe9.txt', b'latin-1 name'), (b'srv/\xff\xfe', b'two bad bytes'), (LONG, b'long and odd'),
                 (b'srv/new\nline\xe9', b'newline'), ('srv/ünï.txt'.encode(), b'valid utf-8')]
        def main(archive, mode, fmt):
            with tarfile.open(archive, mode, format=getattr(tarfile, fmt), encoding='utf-8', errors='surrogateescape') as tar:
                d = tarfile.TarInfo(os.fsdecode(b'srv/d\xe9')); d.type = tarfile.DIRTYPE; d.mode = 0o755; d.mtime = 1780000000
                tar.addfile(d)
                for name, data in FILES:
                    info = tarfile.TarInfo(os.fsdecode(name)); info.size = len(data); info.mtime = 1780000123; info.mode = 0o640
                    tar.addfile(info, io.BytesIO(data))
                info = tarfile.TarInfo(os.fsdecode(b'srv/d\xe9/link\xfe')); info.type = tarfile.SYMTYPE
                info.linkname = os.fsdecode(b'../caf\xe9.txt\x80'); info.mtime = 1780000123
                tar.addfile(info)
                if fmt == 'USTAR_FORMAT': return  # ustar has no room for a link target over 100 bytes
                info = tarfile.TarInfo(os.fsdecode(b'srv/d\xe9/long-link')); info.type = tarfile.SYMTYPE
                info.linkname = os.fsdecode(b'../' + LONG[4:]); info.mtime = 1780000123
                tar.addfile(info)
        main(sys.argv[1], sys.argv[2], sys.argv[3])
        """;

    internal static readonly byte[] LongOddName =
        "srv/"u8.ToArray().Concat(Enumerable.Repeat((byte)0xe9, 60)).Append((byte)'/')
            .Concat(Enumerable.Range(0, 40).SelectMany(_ => new byte[] { (byte)'n', 0xff })).Concat(".txt"u8.ToArray()).ToArray();

    internal static readonly (byte[] Name, byte[] Data)[] OddFiles =
    {
        (Bytes(@"srv/caf\xe9.txt"), "latin-1 name"u8.ToArray()),
        (Bytes(@"srv/\xff\xfe"), "two bad bytes"u8.ToArray()),
        (LongOddName, "long and odd"u8.ToArray()),
        (Bytes(@"srv/new\x0aline\xe9"), "newline"u8.ToArray()),
        ("srv/ünï.txt"u8.ToArray(), "valid utf-8"u8.ToArray()),
    };

    /// <summary>The bytes of a name written as ASCII with \xNN for any byte (the form <see cref="RawTree.Show(ReadOnlySpan{byte})"/> gives).</summary>
    internal static byte[] Bytes(string shown)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < shown.Length; i++)
        {
            if (shown[i] == '\\' && i + 3 < shown.Length && shown[i + 1] == 'x')
            {
                bytes.Add(Convert.ToByte(shown.Substring(i + 2, 2), 16));
                i += 3;
            }
            else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(shown[i].ToString()));
        }
        return bytes.ToArray();
    }

    [Theory]
    [InlineData("GNU_FORMAT", "w")]
    [InlineData("PAX_FORMAT", "w:gz")]
    [InlineData("USTAR_FORMAT", "w:bz2")]
    public void Names_and_link_targets_that_are_not_utf8_are_read_as_their_exact_bytes(string format, string mode)
    {
        var python = Tool.Require("python3");
        using var t = new TempDir();
        File.WriteAllText(t["make.py"], OddNamesScript);
        var archive = t["odd.tar"];
        var made = Tool.Run(python, t["make.py"], archive, mode, format);
        Assert.True(made.ExitCode == 0, made.All);

        var members = new List<(byte[] Name, TarMemberKind Kind, byte[] Data, byte[] Link)>();
        using (var raw = File.OpenRead(archive))
        using (var tar = ArchiveStreams.OpenTar(raw))
        {
            var reader = new TarReader(tar);
            while (reader.Next() is { } m)
            {
                using var data = new MemoryStream();
                if (m.Kind == TarMemberKind.File) reader.Content.CopyTo(data);
                members.Add((PosixPath.Encode(m.Name), m.Kind, data.ToArray(), PosixPath.Encode(m.LinkName)));
            }
        }
        string Show(byte[] b) => RawTree.Show(b);
        var listing = string.Join("\n", members.Select(m => Show(m.Name)));
        var ustar = format == "USTAR_FORMAT";
        Assert.Equal(OddFiles.Length + (ustar ? 2 : 3), members.Count);
        foreach (var (name, data) in OddFiles)
        {
            var m = members.SingleOrDefault(x => x.Name.SequenceEqual(name));
            Assert.True(m.Name != null, $"{Show(name)} not among:\n{listing}");
            Assert.Equal(TarMemberKind.File, m.Kind);
            Assert.Equal(data, m.Data);
        }
        Assert.Contains(members, m => m.Kind == TarMemberKind.Directory && Show(m.Name).TrimEnd('/') == "srv/d\\xe9");
        var link = members.Single(m => Show(m.Name) == "srv/d\\xe9/link\\xfe");
        Assert.Equal(TarMemberKind.Symlink, link.Kind);
        Assert.Equal("../caf\\xe9.txt\\x80", Show(link.Link));
        if (ustar) return;
        var longLink = members.Single(m => Show(m.Name) == "srv/d\\xe9/long-link");
        Assert.Equal("../"u8.ToArray().Concat(LongOddName[4..]).ToArray(), longLink.Link);
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
