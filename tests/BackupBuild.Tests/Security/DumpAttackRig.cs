using BackupBuild.Tests.Extensions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>A site folder, a victim file, a private TMPDIR and a recording wrapper around mariadb-dump.</summary>
internal sealed class DumpAttackRig : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Victim { get; }
    public string Log { get; }
    public string Tmp { get; }
    public string Wrapper { get; }
    private static readonly DateTime VictimTime = new(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private const string VictimText = "precious data that no backup may overwrite\n";

    public DumpAttackRig()
    {
        Victim = Dir.File("victim.txt", VictimText);
        File.SetLastWriteTimeUtc(Victim, VictimTime);
        Log = Dir.Dir("log");
        Tmp = Dir.Dir("tmp");
        var dump = Tool.Require("mariadb-dump");
        Wrapper = Dir.File("bin/record-dump", $$"""
            #!/bin/sh
            for a in "$@"; do
              case "$a" in --defaults-file=*|--defaults-extra-file=*) cp "${a#*=}" "{{Log}}/options-$$.cnf" ;; esac
            done
            printf '%s\n' "$@" > "{{Log}}/args-$$.txt"
            exec {{dump}} "$@"
            """);
        File.SetUnixFileMode(Wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public BackupProject Project(string itemType, string site, string compress = "none")
    {
        var project = new BackupProject(Dir.Path).Item(itemType, site).Property("MysqlDumpProgram", Wrapper);
        project.Property(itemType == "WordpressSite" ? "WordpressCompressMode" : "MediawikiCompressMode", compress);
        project.Environment["TMPDIR"] = Tmp;
        return project;
    }

    /// <summary>The victim has the same content and modification time as before the run.</summary>
    public void AssertVictimUntouched()
    {
        Assert.True(File.Exists(Victim), "the victim file was removed");
        Assert.Equal(VictimText, File.ReadAllText(Victim));
        Assert.Equal(VictimTime, File.GetLastWriteTimeUtc(Victim));
    }

    public string[] OptionFiles => Directory.GetFiles(Log, "options-*.cnf");
    public string[] ArgumentFiles => Directory.GetFiles(Log, "args-*.txt");

    /// <summary>The refusal came before anything ran or was written: no dump program, no option file, no dump.</summary>
    public void AssertNothingRanOrWasWritten(BackupProject project)
    {
        Assert.Empty(ArgumentFiles);
        Assert.Empty(OptionFiles);
        Assert.Empty(Directory.GetFiles(Tmp, "*.cnf", SearchOption.AllDirectories));
        Assert.Empty(DumpFiles.In(project.CollectDir));
    }

    public void Dispose() => Dir.Dispose();
}
