namespace BackupBuild.Tests.Support;

/// <summary>Lists a tar archive with Python's tarfile, the reader Cedar Backup's own tools use.</summary>
public static class TarListing
{
    private const string Script = """
        import sys, tarfile
        with tarfile.open(sys.argv[1]) as t:
            for m in t.getmembers():
                kind = 'l' if m.issym() else ('f' if m.isfile() else 'o')
                print(repr((m.name, kind, m.linkname, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime, m.size)))
        """;

    /// <summary>One line per member: (name, kind, linkname, mode, uid, gid, uname, gname, mtime, size).</summary>
    public static List<string> Members(string archive)
    {
        var r = Tool.Run("/usr/bin/python3", "-c", Script, archive);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException("python tarfile could not read " + archive + ": " + r.Error);
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    /// <summary>Member names only (via GNU tar).</summary>
    public static List<string> Names(string archive)
    {
        var r = Tool.Run("tar", "-tf", archive);
        if (r.ExitCode != 0) throw new Xunit.Sdk.XunitException("tar could not read " + archive + ": " + r.Error);
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }
}
