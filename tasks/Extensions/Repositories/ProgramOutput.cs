using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Repositories;

/// <summary>
/// Runs a program with an argument list (no shell) and streams its standard output, which may be
/// large and binary (a repository dump), into a file that appears only when the program succeeded.
/// </summary>
public static class ProgramOutput
{
    public sealed record Outcome(int ExitCode, string Error, bool TimedOut, long Bytes);

    /// <summary>
    /// Writes the program's output to <paramref name="finalPath"/> atomically. Returns the outcome;
    /// the file is published only when <paramref name="accept"/> says the exit code is a success.
    /// </summary>
    /// <param name="input">The program's standard input (none when null).</param>
    public static Outcome ToFile(string finalPath, DumpCompression compression, string program, IEnumerable<string> args,
        TimeSpan timeout, CancellationToken cancel, Func<int, bool>? accept = null, Stream? input = null)
    {
        accept ??= code => code == 0;
        Outcome? outcome = null;
        try
        {
            AtomicFile.Write(finalPath, file =>
            {
                var sink = new CompressedOutput(file, compression);
                outcome = Run(program, args, timeout, cancel, sink, input: input);
                if (!accept(outcome.ExitCode) || outcome.TimedOut) throw new ProgramFailedException();
                sink.Complete();
            });
        }
        catch (ProgramFailedException)
        {
        }
        return outcome!;
    }

    /// <summary>
    /// Runs the program, copying its standard output into <paramref name="sink"/>; <paramref name="input"/>, when
    /// given, is copied to its standard input (then closed), so a file the program reads need not be named to it.
    /// </summary>
    public static Outcome Run(string program, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancel, Stream sink,
        IReadOnlyDictionary<string, string?>? environment = null, Stream? input = null)
    {
        var counted = new CountingStream(sink);
        var r = ProgramRunner.Run(program, args, timeout, cancel,
            new ProgramOptions { CLocale = true, Environment = environment, InputStream = input, OutputTo = counted });
        return new Outcome(r.ExitCode, r.Error.Trim(), r.TimedOut, counted.Bytes);
    }

    /// <summary>The last lines of a program's error output, for a one-line log message.</summary>
    public static string Summary(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no message)" : string.Join(" ", lines.TakeLast(3));
    }

    private sealed class ProgramFailedException : Exception { }

    /// <summary>Counts what passes through to the sink.</summary>
    private sealed class CountingStream(Stream sink) : Stream
    {
        public long Bytes { get; private set; }
        public override void Write(byte[] buffer, int offset, int count)
        {
            sink.Write(buffer, offset, count);
            Bytes += count;
        }
        public override void Flush() => sink.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
