using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// A setting that names a program (GitPath, StoreXorrisoPath, ScheduleDotnet…): a bare name looked up in PATH or an
/// absolute path, one program started without a shell, so no white space, quotes, shell characters, control
/// characters or leading '-'. Every parser of a program setting checks it here (BKP1150, naming the setting).
/// </summary>
public static class ProgramPath
{
    private const string ShellCharacters = "\"'`$;&|<>()[]{}*?!#~\\";

    /// <summary>True when the value is a bare program name or an absolute path to one.</summary>
    public static bool IsValid(string value) =>
        value.Length > 0 && value[0] != '-' && !value.EndsWith('/')
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || ShellCharacters.Contains(c))
        && (!value.Contains('/') || value.StartsWith('/'));

    /// <summary>The value (untrimmed inside: a line break is refused, not cut), or null when it is refused (BKP1150).</summary>
    public static string? Check(string? value, string name, Problems problems)
    {
        var v = (value ?? "").Trim(' ');
        if (v.Length == 0) return null;
        if (IsValid(v)) return v;
        problems.Error("Config.BadProgram", name, value ?? "");
        return null;
    }

    /// <summary>A program setting the props always give: empty is BKP1101, a bad value BKP1150.</summary>
    public static string Required(SettingsReader r, string name, Problems problems)
    {
        var raw = r.Raw(name);
        if (raw.Trim().Length == 0) return r.Required(name);
        return Check(raw, name, problems) ?? "";
    }
}

/// <summary>
/// The programs group (item BackupProgramSettings): the programs that belong to no other group, each a name looked up
/// in PATH or an absolute path (programs of a group, such as StoreXorrisoPath or EncryptGpgPath, are in that group and
/// checked by the same <see cref="ProgramPath"/>). A task reads the programs it runs; Validate checks all of them.
/// </summary>
public sealed class ProgramSettings
{
    public const string ItemType = "BackupProgramSettings";

    public static readonly string[] Names =
    {
        "GitPath", "GrepmailPath", "SvnadminPath", "SvnlookPath", "SqliteProgram", "PostgresqlDumpProgram", "PostgresqlDumpAllProgram",
        "RequestGitProgram", "RequestRsyncProgram", "RequestSftpProgram",
    };

    private readonly Dictionary<string, string> _programs;

    private ProgramSettings(Dictionary<string, string> programs) => _programs = programs;

    /// <summary>The program a setting names (after <see cref="Parse"/> accepted it).</summary>
    public string this[string name] => _programs[name];

    /// <summary>
    /// The named programs (every program of the group when none are named), or null when one is wrong; each problem
    /// names its setting.
    /// </summary>
    public static ProgramSettings? Parse(ITaskItem? item, Problems problems, params string[] names)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var programs = new Dictionary<string, string>();
        foreach (var name in names.Length == 0 ? Names : names)
        {
            if (!Names.Contains(name)) throw new ArgumentException(name + " is not in " + ItemType);
            programs[name] = ProgramPath.Required(r, name, problems);
        }
        return problems.ErrorCount > before ? null : new ProgramSettings(programs);
    }
}
