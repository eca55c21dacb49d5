using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The restore group (item BackupRestoreSettings): what Restore writes (RestorePath, RestoreOverwrite, RestoreDryRun,
/// RestorePartial) and how Restore and Find read encrypted days (RestoreGpgPath, RestoreGpgHomeDir,
/// RestorePassphraseFile). Restore parses the whole group, Find its gpg part (<see cref="ParseGpg"/>), Validate all of it.
/// </summary>
public sealed record RestoreSettings(string Path, bool Overwrite, bool DryRun, bool Partial, RestoreSettings.Decryption Gpg)
{
    public const string ItemType = "BackupRestoreSettings";
    public static readonly string[] Names =
    {
        "RestorePath", "RestoreOverwrite", "RestoreDryRun", "RestorePartial", "RestoreGpgPath", "RestoreGpgHomeDir", "RestorePassphraseFile",
    };

    /// <summary>gpg for encrypted days: the program, its --homedir (null: gpg's own) and a passphrase file (null: the agent).</summary>
    public sealed record Decryption(string Program, string? HomeDir, string? PassphraseFile);

    public static RestoreSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var path = r.Required("RestorePath");
        if (path.Length > 0 && !path.StartsWith('/')) problems.Error("Restore.BadPath", path);
        var overwrite = r.Flag("RestoreOverwrite");
        var dryRun = r.Flag("RestoreDryRun");
        var partial = r.Flag("RestorePartial");
        var gpg = ParseGpg(r, problems);
        return problems.ErrorCount > before || gpg == null ? null : new RestoreSettings(path, overwrite, dryRun, partial, gpg);
    }

    /// <summary>The gpg part alone (Find), or null when it is wrong.</summary>
    public static Decryption? ParseGpg(ITaskItem? item, Problems problems)
    {
        var r = new SettingsReader(item, ItemType, problems);
        return r.Present ? ParseGpg(r, problems) : null;
    }

    private static Decryption? ParseGpg(SettingsReader r, Problems problems)
    {
        var before = problems.ErrorCount;
        var program = ProgramPath.Required(r, "RestoreGpgPath", problems);
        var home = Values.AbsolutePath(r.Text("RestoreGpgHomeDir"), "RestoreGpgHomeDir", problems, required: false);
        var passphrase = r.Text("RestorePassphraseFile");
        // gpg reads it itself (--passphrase-file): an absolute path of a regular file, never followed through a link.
        if (passphrase.Length > 0 && (!passphrase.StartsWith('/') || Posix.LStat(passphrase, out _) is not { IsRegular: true }))
            problems.Error("Restore.PassphraseFile", passphrase);
        return problems.ErrorCount > before ? null : new Decryption(program, home, passphrase.Length == 0 ? null : passphrase);
    }
}
