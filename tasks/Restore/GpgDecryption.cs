using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Reads stored copies that gpg encrypted (the encrypt extension's FILE.gpg, objects uploaded with a gpg
/// S3EncryptCommand): the ciphertext is piped through <c>gpg --decrypt</c>, run with an argument list. The key is the
/// administrator's: gpg's agent and keyring (<c>--homedir</c>), or a passphrase read by gpg itself from a file
/// (<c>--pinentry-mode loopback --passphrase-file</c>); nothing secret is on a command line or in a property.
/// </summary>
internal sealed class GpgDecryption(string program, string? homeDir, string? passphraseFile)
{
    public string Program => program;

    private IEnumerable<string> Arguments()
    {
        yield return "--batch";
        yield return "--no-tty";
        yield return "--quiet";
        if (homeDir != null) { yield return "--homedir"; yield return homeDir; }
        if (passphraseFile != null)
        {
            yield return "--pinentry-mode";
            yield return "loopback";
            yield return "--passphrase-file";
            yield return passphraseFile;
        }
        yield return "--decrypt";
    }

    /// <summary>The plaintext of <paramref name="ciphertext"/>; reading it fails with an IOException naming gpg's reason when gpg does.</summary>
    public Stream Open(Stream ciphertext, string location) => new DecryptStream(this, ciphertext, location);

    /// <summary>
    /// True when the stream starts like OpenPGP ciphertext (a public-key or symmetric session key packet, old or new
    /// format) and is not a tar (ustar magic at 257): how an S3 object encrypted by a site command is recognised.
    /// </summary>
    public static bool LooksEncrypted(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return false;
        var b = head[0];
        var packet = b is >= 0x84 and <= 0x87 or >= 0x8C and <= 0x8F or 0xC1 or 0xC3;
        if (!packet) return false;
        return !(head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8));
    }

    private sealed class DecryptStream : ReadOnlyStream
    {
        private readonly RunningProgram _gpg;
        private readonly Stream _input;
        private readonly string _location;
        private readonly string _program;
        private bool _ended;

        public DecryptStream(GpgDecryption owner, Stream input, string location)
        {
            _input = input;
            _location = location;
            _program = owner.Program;
            // No time limit: gpg runs as long as the restore reads; the task's cancellation stops it (ProgramRunner).
            _gpg = ProgramRunner.Start(owner.Program, owner.Arguments(), Timeout.InfiniteTimeSpan, CancellationToken.None,
                new ProgramOptions { InputStream = input, CallerReadsOutput = true });
            if (!_gpg.NotStarted) return;
            var r = _gpg.Wait();
            input.Dispose();
            throw new IOException($"{owner.Program} could not be started to decrypt {location}: {r.Error}");
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_ended) return 0;
            var n = _gpg.StandardOutput.Read(buffer, offset, count);
            if (n > 0) return n;
            _ended = true;
            var r = _gpg.Wait(); // the ciphertext's own read failure goes up as it is
            if (r.ExitCode != 0)
            {
                var why = string.Join(" / ", r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(2));
                throw new IOException($"gpg could not decrypt {_location} (exit {r.ExitCode}: {(why.Length == 0 ? "no message" : why)})");
            }
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _gpg.Dispose(); // stops gpg when the reader did not read to the end
            }
            base.Dispose(disposing);
        }
    }
}
