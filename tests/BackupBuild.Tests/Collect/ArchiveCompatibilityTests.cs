using System.Text;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// Archives of awkward files, in each of Cedar Backup's formats, read back by GNU tar, bsdtar and
/// Python's tarfile exactly as the files were.
/// </summary>
[Trait("Tier", "Fast")]
public class ArchiveCompatibilityTests
{
    public static TheoryData<ArchiveFormat> Formats => [ArchiveFormat.Tar, ArchiveFormat.TarGz, ArchiveFormat.TarBz2];

    private static (SampleTree Tree, string Archive) Archive(TempDir temp, ArchiveFormat format)
    {
        var tree = new SampleTree(temp);
        var archive = temp["archive" + Archives.Extension(format)];
        Archives.Write(archive, tree.Paths, format);
        return (tree, archive);
    }

    [Theory, MemberData(nameof(Formats))]
    public void Gnu_tar_extracts_contents_modes_owners_times_and_links(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var (tree, archive) = Archive(temp, format);
        ArchiveReaders.AssertGnuTarExtracts(archive, format, tree.Paths, temp["gnu"]);
    }

    [Theory, MemberData(nameof(Formats))]
    public void Bsdtar_extracts_contents_modes_owners_times_and_links(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var (tree, archive) = Archive(temp, format);
        ArchiveReaders.AssertBsdtarExtracts(archive, tree.Paths, temp["bsd"]);
    }

    [Theory, MemberData(nameof(Formats))]
    public void Python_tarfile_reads_every_member_as_the_source(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var (tree, archive) = Archive(temp, format);
        ArchiveReaders.AssertPythonReads(archive, format, tree.Paths);
    }

    [Theory, MemberData(nameof(Formats))]
    public void Gnu_tar_lists_names_owners_modes_sizes_and_times(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var (tree, archive) = Archive(temp, format);
        var listing = ArchiveReaders.Run("tar", [.. Archives.TarCompressionOption(format), "-t", "-v", "--full-time", "-f", archive])
            .Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(tree.Paths.Count, listing.Length);

        // Entries whose names GNU tar prints unescaped: compare the whole line, field by field.
        foreach (var (path, line) in tree.Paths.Zip(listing))
        {
            var name = SampleTree.EntryName(path);
            if (name.Any(c => c > '~' || c < ' ')) continue;
            var s = Posix.LStat(path, out _)!.Value;
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            var owner = $"{Or(Posix.UserName(s.Uid), s.Uid)}/{Or(Posix.GroupName(s.Gid), s.Gid)}";
            var time = s.ModificationTime.UtcDateTime;
            var target = s.IsSymlink ? " -> " + new FileInfo(path).LinkTarget : "";
            Assert.Equal(
                [ModeString(s), owner, s.IsSymlink ? "0" : s.Size.ToString(), time.ToString("yyyy-MM-dd"), time.ToString("HH:mm:ss"), name + target],
                fields[..5].Append(fields[5].TrimStart()).ToArray());
        }
    }

    [Theory, MemberData(nameof(Formats))]
    public void Uncompressed_stream_is_byte_for_byte_what_python_tarfile_writes(ArchiveFormat format)
    {
        using var temp = new TempDir();
        var tree = new SampleTree(temp);
        // Python moves a name or link target to a long-name entry only above 100 bytes, GNU tar (and we)
        // from 100 bytes; everywhere else the output must be identical.
        var comparable = tree.Paths.Where(p => Utf8Length(SampleTree.EntryName(p)) != 100
            && Utf8Length(new FileInfo(p).LinkTarget ?? "") != 100).ToList();
        Assert.True(comparable.Count >= tree.Paths.Count - 3);
        var archive = temp["archive" + Archives.Extension(format)];
        Archives.Write(archive, comparable, format);
        var list = temp["paths"];
        File.WriteAllText(list, string.Join('\0', comparable));
        var r = ArchiveReaders.Run(ArchiveReaders.Python, "-c", CompareScript, archive, Archives.PythonMode(format), list);
        Assert.Equal("same", r.Output.Trim());
    }

    [Theory]
    [InlineData(ArchiveFormat.TarGz, "gzip")]
    [InlineData(ArchiveFormat.TarBz2, "bzip2")]
    public void Compressed_file_passes_the_compressors_own_test(ArchiveFormat format, string program)
    {
        using var temp = new TempDir();
        var (_, archive) = Archive(temp, format);
        ArchiveReaders.Run(program, "-t", archive);
    }

    // Writes the same paths with Python's tarfile as Cedar Backup does (GNU_FORMAT, add non-recursively)
    // and compares with our archive, decompressed.
    private const string CompareScript = """
        import sys, io, tarfile, gzip, bz2
        archive, mode, listfile = sys.argv[1:4]
        paths = open(listfile, "rb").read().decode("utf-8").split("\0")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", encoding="utf-8") as t:
            t.format = tarfile.GNU_FORMAT
            for p in paths:
                t.add(p, recursive=False)
        theirs = buf.getvalue()
        ours = {"r:": open, "r:gz": gzip.open, "r:bz2": bz2.open}[mode](archive, "rb").read()
        if ours == theirs:
            print("same")
        else:
            n = min(len(ours), len(theirs))
            i = next((i for i in range(n) if ours[i] != theirs[i]), n)
            print("differ at", i, "lengths", len(ours), len(theirs), ours[i - i % 512:][:512], theirs[i - i % 512:][:512])
        """;

    private static int Utf8Length(string s) => Encoding.UTF8.GetByteCount(s);

    private static string Or(string name, uint id) => name.Length > 0 ? name : id.ToString();

    /// <summary>The mode column of <c>ls -l</c> and <c>tar -tv</c>.</summary>
    private static string ModeString(PosixStat s)
    {
        var p = s.Permissions;
        char Bit(int shift, char c) => (p >> shift & 1) != 0 ? c : '-';
        char Exec(int shift, uint special, char set, char setNoExec) =>
            (p & special) != 0 ? ((p >> shift & 1) != 0 ? set : setNoExec) : Bit(shift, 'x');
        return new string([
            s.IsSymlink ? 'l' : '-',
            Bit(8, 'r'), Bit(7, 'w'), Exec(6, 0x800, 's', 'S'),
            Bit(5, 'r'), Bit(4, 'w'), Exec(3, 0x400, 's', 'S'),
            Bit(2, 'r'), Bit(1, 'w'), Exec(0, 0x200, 't', 'T'),
        ]);
    }
}
