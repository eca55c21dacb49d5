using System.Text;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// File names as Linux has them: any bytes but '/' and NUL, not necessarily UTF-8. .NET's file APIs
/// decode names as UTF-8 and replace what does not decode, so two different files can get the same
/// name and neither can be opened again. BackupBuild keeps names in strings with a reversible
/// escape instead (the scheme Python calls surrogateescape): every byte that is not part of valid
/// UTF-8 becomes the lone surrogate U+DC00 + byte, which valid text never holds. Valid UTF-8 names
/// are the same strings as everywhere else; <see cref="Encode"/> gives the exact bytes back, and every
/// system call on such a path goes through <see cref="Posix"/>, never through .NET's file APIs.
/// </summary>
public static class PosixPath
{
    private const char EscapeBase = '\uDC00';

    /// <summary>The name for these bytes; invalid UTF-8 bytes become escape characters.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        var text = new StringBuilder(bytes.Length);
        Span<char> pair = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var used) == System.Buffers.OperationStatus.Done)
            {
                text.Append(pair[..rune.EncodeToUtf16(pair)]);
                bytes = bytes[used..];
            }
            else
            {
                text.Append((char)(EscapeBase + bytes[0]));
                bytes = bytes[1..];
            }
        }
        return text.ToString();
    }

    /// <summary>True when the name holds escaped bytes, i.e. it is not valid UTF-8 on disk.</summary>
    public static bool HasEscapes(string name)
    {
        foreach (var c in name)
            if (char.IsSurrogate(c)) return !IsWellFormed(name);
        return false;
    }

    /// <summary>The bytes of a name (escape characters back to the bytes they stand for), optionally NUL-terminated.</summary>
    public static byte[] Encode(string name, bool nulTerminated = false)
    {
        if (!HasEscapes(name))
        {
            var plain = new byte[Encoding.UTF8.GetByteCount(name) + (nulTerminated ? 1 : 0)];
            Encoding.UTF8.GetBytes(name, plain);
            return plain;
        }
        var bytes = new List<byte>(name.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        var rest = name.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) == System.Buffers.OperationStatus.Done)
            {
                var n = rune.EncodeToUtf8(utf8);
                for (var i = 0; i < n; i++) bytes.Add(utf8[i]);
                rest = rest[used..];
                continue;
            }
            var c = rest[0];
            if (c >= '\uDC80' && c <= '\uDCFF') bytes.Add((byte)(c - EscapeBase));
            else bytes.AddRange("\uFFFD"u8.ToArray()); // a lone surrogate that does not stand for a byte
            rest = rest[1..];
        }
        if (nulTerminated) bytes.Add(0);
        return bytes.ToArray();
    }

    /// <summary>The name for messages: escaped bytes shown as \xNN, so a log line stays valid text.</summary>
    public static string Display(string name)
    {
        if (!HasEscapes(name)) return name;
        var text = new StringBuilder(name.Length + 8);
        var rest = name.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rest[..used]);
                rest = rest[used..];
                continue;
            }
            var c = rest[0];
            text.Append(c >= '\uDC80' && c <= '\uDCFF' ? $"\\x{c - EscapeBase:x2}" : "\uFFFD");
            rest = rest[1..];
        }
        return text.ToString();
    }

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return false;
        }
        return true;
    }
}
