using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

/// <summary>One entry of a remote collect dir as `find -printf '%y %s %T@ %f\0'` lists it.</summary>
/// <param name="Name">The file name, its bytes kept exactly (see <see cref="PosixPath"/>).</param>
public sealed record RemoteEntry(char Type, long Size, long MtimeSeconds, string Name)
{
    /// <summary>The remote command that lists a collect dir (non-recursive) in this form.</summary>
    public static string ListCommand(string collectDir) =>
        $"find {Infrastructure.RemoteShell.Quote(collectDir)} -mindepth 1 -maxdepth 1 -printf '%y %s %T@ %f\\0'";
}

/// <summary>Why a listing was refused: the record (1-based) at fault, what is wrong with it, and its start, escaped for the log.</summary>
public sealed record ListingProblem(int Record, string Reason, string Excerpt);

/// <summary>
/// Reads a remote peer's listing, which is untrusted input: the peer (or whoever controls its find, its
/// shell or the forced command) can send anything. Every record must be exactly
/// <c>TYPE SIZE SECONDS[.FRACTION] NAME\0</c> with a find type letter, a size and a time in range, and a
/// name that is a single file name (no "/", not "." or "..", at most 255 bytes) listed once; the whole
/// listing is bounded by <see cref="MaxBytes"/> (enforced while it is read, see <see cref="BoundedRun"/>).
/// One bad record refuses the whole listing: nothing of a listing that lies in one place is trusted.
/// </summary>
public static class RemoteListing
{
    /// <summary>The largest listing read: about 50,000 entries of the longest names; a real collect dir holds dozens.</summary>
    public const int MaxBytes = 16 << 20;

    /// <summary>The largest size a listed file may claim (1 PiB), so that sizes can be added up without overflowing.</summary>
    public const long MaxFileSize = 1L << 50;

    private const long MaxTotalSize = 1L << 62;
    private const int MaxNameBytes = 255;
    private const string Types = "bcdpflsD";

    public static bool TryParse(ReadOnlySpan<byte> output, out List<RemoteEntry> entries, out ListingProblem? problem)
    {
        entries = new List<RemoteEntry>();
        problem = null;
        if (output.Length > MaxBytes)
        {
            problem = new ListingProblem(0, $"it is longer than {MaxBytes} bytes", "");
            return false;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var record = 0;
        long total = 0;
        while (!output.IsEmpty)
        {
            record++;
            var end = output.IndexOf((byte)0);
            if (end < 0)
            {
                problem = Problem(record, "it does not end in a NUL byte (the listing was cut short or is not find's output)", output);
                entries.Clear();
                return false;
            }
            var line = output[..end];
            output = output[(end + 1)..];
            var reason = ParseRecord(line, out var entry);
            if (reason == null && !names.Add(entry!.Name)) reason = "it names a file that was listed before";
            if (reason == null && (total += entry!.Size) > MaxTotalSize) reason = "the sizes listed so far add up to more than 4 EiB";
            if (reason != null)
            {
                problem = Problem(record, reason, line);
                entries.Clear();
                return false;
            }
            entries.Add(entry!);
        }
        return true;
    }

    private static string? ParseRecord(ReadOnlySpan<byte> line, out RemoteEntry? entry)
    {
        entry = null;
        // TYPE ' ' SIZE ' ' TIME ' ' NAME: exactly one space between fields; the name is the rest.
        if (line.Length < 2 || line[1] != (byte)' ' || Types.IndexOf((char)line[0]) < 0)
            return "its type is not one of find's letters " + Types;
        var type = (char)line[0];
        var rest = line[2..];

        var space = rest.IndexOf((byte)' ');
        if (space < 0) return "it has no size";
        if (!Digits(rest[..space], 16, out var size) || size > MaxFileSize) return "its size is not a whole number of bytes up to 1 PiB";
        rest = rest[(space + 1)..];

        space = rest.IndexOf((byte)' ');
        if (space < 0) return "it has no time";
        if (!Time(rest[..space], out var seconds)) return "its time is not seconds since 1970 (SECONDS.FRACTION)";
        var name = rest[(space + 1)..];

        if (name.IsEmpty || name.Length > MaxNameBytes) return "its name is empty or longer than 255 bytes";
        if (name.IndexOf((byte)'/') >= 0) return "its name holds a \"/\"";
        if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) return "its name is \".\" or \"..\"";
        entry = new RemoteEntry(type, size, seconds, PosixPath.Decode(name));
        return null;
    }

    /// <summary>1 to <paramref name="maxDigits"/> ASCII digits, nothing else (no sign, no space).</summary>
    private static bool Digits(ReadOnlySpan<byte> text, int maxDigits, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits) return false;
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }

    /// <summary>find's %T@: [-]SECONDS[.FRACTION], whole seconds rounded down as the staged copy's time is compared.</summary>
    private static bool Time(ReadOnlySpan<byte> text, out long seconds)
    {
        seconds = 0;
        var negative = !text.IsEmpty && text[0] == (byte)'-';
        if (negative) text = text[1..];
        var dot = text.IndexOf((byte)'.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? ReadOnlySpan<byte>.Empty : text[(dot + 1)..];
        // 12 digits of seconds reach past the year 30000; find prints 10 digits of fraction.
        if (!Digits(whole, 12, out seconds)) return false;
        if (dot >= 0 && !Digits(fraction, 10, out var parts)) return false;
        if (negative)
        {
            seconds = -seconds;
            if (dot >= 0 && fraction.IndexOfAnyExcept((byte)'0') >= 0) seconds--;
        }
        return true;
    }

    private static ListingProblem Problem(int record, string reason, ReadOnlySpan<byte> line)
    {
        const int Shown = 80;
        var excerpt = PosixPath.Display(PosixPath.Decode(line[..Math.Min(line.Length, Shown)]));
        // Control characters (a newline in a hostile name) would break the log line: shown escaped.
        var text = new System.Text.StringBuilder();
        foreach (var c in excerpt)
            text.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        if (line.Length > Shown) text.Append('…');
        return new ListingProblem(record, reason, text.ToString());
    }
}
