using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>
/// Streams a dump program's standard output, compressed, into a file that appears complete or not
/// at all (<see cref="AtomicFile"/>): when the program cannot start, fails, or runs past its time,
/// the temporary file is removed and nothing is published under the final name.
/// </summary>
internal static class DumpWriter
{
    // A bzip2 block is 900 kB; a bigger unit only costs memory.
    private const int UnitSize = 1 << 20;
    private const int TailSize = 256;

    public sealed record Outcome(bool Succeeded, int ExitCode, string Error, bool TimedOut, long Bytes)
    {
        /// <summary>The last bytes of the uncompressed output (Latin-1), for programs that report errors in it.</summary>
        public string Tail { get; init; } = "";
    }

    /// <param name="acceptExitCode">Publish the output whatever the exit status (but not after a timeout).</param>
    /// <param name="acceptTail">Checks the end of the output (e.g. a closing COMMIT) before the file is published.</param>
    /// <param name="environment">Variables to set (value) or remove (null) for the program.</param>
    public static Outcome Write(string finalPath, DumpCompression compression, string program, IEnumerable<string> args,
        IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancel, bool acceptExitCode = false,
        Func<string, bool>? acceptTail = null)
    {
        Outcome? outcome = null;
        try
        {
            AtomicFile.Write(finalPath, file =>
            {
                outcome = Run(file, compression, program, args, environment, timeout, cancel, acceptExitCode);
                if (outcome.Succeeded && acceptTail != null && !acceptTail(outcome.Tail))
                    outcome = outcome with { Succeeded = false };
                if (!outcome.Succeeded) throw new DumpFailedException();
            });
        }
        catch (DumpFailedException) { }
        catch (IOException e)
        {
            // The collect folder is full or unwritable: the program was stopped and the temporary file removed.
            outcome = new Outcome(false, -1, e.Message, false, outcome?.Bytes ?? 0);
        }
        return outcome!;
    }

    private static Outcome Run(FileStream file, DumpCompression compression, string program, IEnumerable<string> args,
        IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancel, bool acceptExitCode)
    {
        using var running = ProgramRunner.Start(program, args, timeout, cancel,
            new ProgramOptions { CLocale = true, Environment = environment, CallerReadsOutput = true });
        long bytes = 0;
        var compressor = DumpCompressions.Compressor(compression);
        var unit = new byte[UnitSize];
        var compressed = new MemoryStream();
        var stdout = running.StandardOutput;
        var tail = new byte[TailSize];
        var tailLength = 0;
        try
        {
            Copy();
        }
        catch
        {
            running.Stop();
            throw;
        }
        var r = running.Wait();
        if (r.NotStarted) return new Outcome(false, 127, r.Error, false, 0);
        return new Outcome((r.ExitCode == 0 || acceptExitCode) && !r.TimedOut, r.ExitCode, r.Error.Trim(), r.TimedOut, bytes)
        {
            Tail = System.Text.Encoding.Latin1.GetString(tail, 0, tailLength),
        };

        void Copy()
        {
            while (true)
            {
                var filled = Fill(stdout, unit);
                // An empty output still becomes a valid (empty) compressed file, not a zero-byte one.
                if (filled == 0 && (bytes > 0 || compressor == null)) break;
                bytes += filled;
                KeepTail(filled);
                if (compressor == null)
                {
                    file.Write(unit, 0, filled);
                    continue;
                }
                compressed.SetLength(0);
                compressor.Compress(unit, filled, compressed);
                if (compressed.Length == 0) compressed.Write(DumpCompressions.EmptyFile(compression));
                file.Write(compressed.GetBuffer(), 0, (int)compressed.Length);
                if (filled == 0) break;
            }
        }

        void KeepTail(int filled)
        {
            if (filled >= TailSize)
            {
                Array.Copy(unit, filled - TailSize, tail, 0, TailSize);
                tailLength = TailSize;
                return;
            }
            var keep = Math.Min(tailLength, TailSize - filled);
            Array.Copy(tail, tailLength - keep, tail, 0, keep);
            Array.Copy(unit, 0, tail, keep, filled);
            tailLength = keep + filled;
        }
    }

    private static int Fill(Stream input, byte[] buffer)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = input.Read(buffer, filled, buffer.Length - filled);
            if (n == 0) break;
            filled += n;
        }
        return filled;
    }

    private sealed class DumpFailedException : Exception { }
}
