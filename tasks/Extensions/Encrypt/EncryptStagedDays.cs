using BackupBuild.Tasks.Extensions.Staged;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Encrypt;

/// <summary>
/// Cedar's encrypt extension: in every staged day, each file (indicators aside) becomes FILE.gpg encrypted to the
/// recipient, the plaintext is removed once the ciphertext is complete and flushed, and cback.encrypt is written last.
/// </summary>
public sealed class EncryptStagedDays : StagedDayTask
{
    public const string Indicator = "cback.encrypt";

    /// <summary>
    /// @(BackupEncryptSettings): the gpg recipient (a key id, fingerprint or e-mail address with a public key), the gpg
    /// program, its --homedir (empty: gpg's own ~/.gnupg) and the longest gpg run per file (Settings/EncryptSettings).
    /// </summary>
    public Microsoft.Build.Framework.ITaskItem? EncryptSettings { get; set; }

    private GpgEncryption _gpg = null!;
    private string _recipient = "";

    protected override void Configure(Problems problems)
    {
        if (Settings.EncryptSettings.Parse(EncryptSettings, problems) is not { } s) return;
        _recipient = s.Recipient;
        _gpg = new GpgEncryption(s.Gpg, s.GpgHomeDir, s.Recipient, TimeSpan.FromSeconds(s.TimeoutSeconds), Cancellation);
    }

    protected override bool Ready()
    {
        if (_gpg.CheckRecipient() is not { } refusal) return true;
        LogCodedError(refusal);
        return false;
    }

    protected override void ProcessDay(string dayDir)
    {
        var done = ProcessedFiles.Read(dayDir, Indicator);
        if (!done.Ours)
        {
            Trace("Encrypt.ForeignIndicator", dayDir);
            return;
        }
        var outputs = done.Paths.Select(p => p + ".gpg").ToHashSet(StringComparer.Ordinal);
        bool IsOutput(string f) => outputs.Contains(f) || (f.Length > 6 && outputs.Contains(f[..^6]) && StagedDayFolders.IsPieceOf(f, f[..^6]));
        var todo = StagedDayFolders.Files(dayDir).Where(f => !IsOutput(f)).ToList();
        if (done.Exists && todo.Count == 0) return;

        int encrypted = 0, again = 0, failed = 0;
        long bytes = 0;
        foreach (var relative in todo)
        {
            Cancellation.ThrowIfCancellationRequested();
            var plain = Path.Combine(dayDir, relative);
            var info = new FileInfo(plain);
            var cipher = plain + ".gpg";
            if (done.Matches(relative, info) && (File.Exists(cipher) || StagedDayFolders.PiecesOf(cipher).Any()))
            {
                // Stage copied the same archive in again: its ciphertext is already here.
                File.Delete(plain);
                again++;
                continue;
            }
            try
            {
                EncryptOne(plain, cipher);
            }
            catch (CodedError e)
            {
                LogCodedError(e);
                failed++;
                continue;
            }
            done.Record(relative, info.Length, info.LastWriteTimeUtc);
            File.Delete(plain);
            done.WriteProgress(dayDir, Indicator);
            encrypted++;
            bytes += info.Length;
        }
        if (failed > 0)
        {
            Log.LogErrorWithCodeFromResources("Extensions.DayIncomplete", "encrypt", dayDir, failed, Indicator);
            return;
        }
        done.Complete(dayDir, Indicator);
        Progress("Encrypt.Done", dayDir, encrypted, Units.Bytes(bytes), again, _recipient);
    }

    /// <summary>gpg writes a temporary file; flushed, it replaces FILE.gpg (and any pieces split from an older one).</summary>
    private void EncryptOne(string plain, string cipher)
    {
        var temp = AtomicFile.TempPathFor(cipher);
        try
        {
            _gpg.Encrypt(plain, temp);
            StagedDayFolders.CopyMode(plain, temp);
            StagedDayFolders.FlushToDisk(temp);
            foreach (var piece in StagedDayFolders.PiecesOf(cipher)) File.Delete(piece);
            File.Move(temp, cipher, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
