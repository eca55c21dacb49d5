using Xunit;
namespace BackupBuild.Tests.Extensions;

/// <summary>Reads a dump back with the standard programs, whatever its compression.</summary>
internal static class DumpFiles
{
    public static string Text(string path)
    {
        if (path.EndsWith(".gz")) return Decompress("gzip", path);
        if (path.EndsWith(".bz2")) return Decompress("bzip2", path);
        return File.ReadAllText(path);
    }

    private static string Decompress(string program, string path)
    {
        var r = Support.Tool.Run(program, "-t", path);
        Assert.True(r.ExitCode == 0, $"{program} -t {path}: {r.All}");
        return Support.Tool.Run(program, "-dc", path).Output;
    }

    /// <summary>Every file in the folder, temporary leftovers included: a failed dump must leave none.</summary>
    public static string[] In(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray()! : Array.Empty<string>();
}
