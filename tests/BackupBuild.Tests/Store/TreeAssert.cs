using BackupBuild.Tasks.Infrastructure;
using Xunit;

namespace BackupBuild.Tests.Store;

/// <summary>Compares an extracted tree with its source: names, types, bytes, link targets, modes, owners, mtimes.</summary>
internal static class TreeAssert
{
    private static readonly EnumerationOptions Everything = new() { AttributesToSkip = 0, RecurseSubdirectories = false };

    /// <summary>Relative paths of everything below <paramref name="root"/>, not following links.</summary>
    public static List<string> Walk(string root)
    {
        var result = new List<string>();
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            var relative = pending.Pop();
            foreach (var full in Directory.EnumerateFileSystemEntries(Path.Combine(root, relative), "*", Everything))
            {
                var child = relative.Length == 0 ? Path.GetFileName(full) : relative + "/" + Path.GetFileName(full);
                result.Add(child);
                if (Posix.LStat(full, out _)!.Value.IsDirectory) pending.Push(child);
            }
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    public static void SameTree(string expected, string actual, string reader)
    {
        var problems = new List<string>();
        var want = Walk(expected);
        var got = Walk(actual);
        foreach (var missing in want.Except(got)) problems.Add($"missing: {Show(missing)}");
        foreach (var extra in got.Except(want)) problems.Add($"unexpected: {Show(extra)}");
        foreach (var relative in want.Intersect(got))
            Compare(Path.Combine(expected, relative), Path.Combine(actual, relative), Show(relative), problems);
        Compare(expected, actual, "(top folder)", problems);
        Assert.True(problems.Count == 0, $"{reader} extracted a different tree:\n" + string.Join("\n", problems));
    }

    private static void Compare(string expectedPath, string actualPath, string name, List<string> problems)
    {
        var e = Posix.LStat(expectedPath, out _)!.Value;
        var a = Posix.LStat(actualPath, out _)!.Value;
        if ((e.Mode & PosixStat.TypeMask) != (a.Mode & PosixStat.TypeMask))
        {
            problems.Add($"{name}: type {e.Mode:X} became {a.Mode:X}");
            return;
        }
        if (e.IsSymlink)
        {
            var target = new FileInfo(actualPath).LinkTarget;
            if (target != new FileInfo(expectedPath).LinkTarget) problems.Add($"{name}: link target became '{Show(target ?? "")}'");
            return; // link modes and times are not restored by every reader and mean nothing on Linux
        }
        if (e.Permissions != a.Permissions) problems.Add($"{name}: mode {Convert.ToString(e.Permissions, 8)} became {Convert.ToString(a.Permissions, 8)}");
        if (e.Uid != a.Uid || e.Gid != a.Gid) problems.Add($"{name}: owner {e.Uid}:{e.Gid} became {a.Uid}:{a.Gid}");
        if (e.MtimeSeconds != a.MtimeSeconds) problems.Add($"{name}: mtime {e.MtimeSeconds} became {a.MtimeSeconds}");
        if (e.IsRegular && !File.ReadAllBytes(expectedPath).AsSpan().SequenceEqual(File.ReadAllBytes(actualPath)))
            problems.Add($"{name}: contents differ");
    }

    private static string Show(string name) => name.Replace("\n", "\\n");
}
