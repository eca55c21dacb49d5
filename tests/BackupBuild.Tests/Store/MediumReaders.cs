using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>Reads a medium (image file or stdio drive) with xorriso, bsdtar and isoinfo and compares days with what was staged.</summary>
internal static class MediumReaders
{
    /// <summary>The days xorriso, bsdtar and isoinfo see on the image, each compared byte for byte with the expected files.</summary>
    public static void SeeExactly(string image, string workDir, IDictionary<string, Dictionary<string, byte[]>> days)
    {
        Tool.Require("xorriso");
        Tool.Require("bsdtar");
        Tool.Require("isoinfo");
        var byXorriso = Path.Combine(workDir, "read-xorriso-" + Guid.NewGuid().ToString("N")[..6]);
        var extract = Tool.Run("xorriso", "-indev", image, "-osirrox", "on", "-extract", "/", byXorriso);
        Assert.True(extract.ExitCode == 0, extract.All);
        var byBsdtar = Path.Combine(workDir, "read-bsdtar-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(byBsdtar);
        var untar = Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar);
        Assert.True(untar.ExitCode == 0 && untar.Error == "", untar.All);
        var listing = Tool.Run("isoinfo", "-R", "-f", "-i", image).Output.Split('\n').Where(l => l.Length > 0).ToHashSet();

        foreach (var root in new[] { byXorriso, byBsdtar })
        {
            var seenDays = Directory.EnumerateDirectories(root).SelectMany(Directory.EnumerateDirectories).SelectMany(Directory.EnumerateDirectories)
                .Select(d => Path.GetRelativePath(root, d)).Where(d => d.Split('/') is [{ Length: 4 }, { Length: 2 }, { Length: 2 }]).Order();
            Assert.Equal(days.Keys.Order(), seenDays);
            foreach (var (day, files) in days)
            {
                var got = Snapshot.Contents(Path.Combine(root, day));
                Assert.Equal(files.Keys.Order(), got.Keys.Order());
                foreach (var (name, bytes) in files) Assert.True(bytes.AsSpan().SequenceEqual(got[name]), $"{root}: {day}/{name} differs");
            }
        }
        foreach (var (day, files) in days)
            foreach (var name in files.Keys)
            {
                Assert.Contains($"/{day}/{name}", listing);
                Assert.True(files[name].AsSpan().SequenceEqual(Bytes("isoinfo", "-R", "-x", $"/{day}/{name}", "-i", image)), $"isoinfo: {day}/{name} differs");
            }
        Directory.Delete(byXorriso, true);
        Directory.Delete(byBsdtar, true);
    }

    /// <summary>Runs a program and returns its standard output as bytes (file contents are binary).</summary>
    private static byte[] Bytes(string program, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        using var bytes = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(bytes);
        process.WaitForExit();
        return bytes.ToArray();
    }

    /// <summary>The sessions xorriso lists for the medium: (start block, volume id).</summary>
    public static List<(long Start, string VolumeId)> Sessions(string image)
    {
        var toc = Tool.Run("xorriso", "-indev", image, "-toc");
        Assert.True(toc.ExitCode == 0, toc.All);
        return System.Text.RegularExpressions.Regex.Matches(toc.Output, @"ISO session\s*:\s*\d+\s*,\s*(\d+)\s*,\s*\d+s\s*,\s*(.*)")
            .Select(m => (long.Parse(m.Groups[1].Value), m.Groups[2].Value.Trim())).ToList();
    }
}
