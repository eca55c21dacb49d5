using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// A cause inside a message. Messages put a cause (an exception's message, a program's error output) before a period
/// that ends its sentence: <c>cannot copy "x": {3}. The peer is not marked staged.</c>. Some causes end with a period
/// (.NET's "Access to the path … is denied."), most programs' do not (ssh's "Connection refused"): every message is
/// formatted here, and an argument the template follows with a period loses its own final periods and blanks, so the
/// sentence ends exactly once either way. tests/…/Docs/MessageSentencesTests.cs renders every string of Strings.resx
/// with both kinds of cause.
/// </summary>
public static class Sentences
{
    private static readonly Regex PlaceholderBeforePeriod = new(@"(?<!\{)\{(\d+)(?:[,:][^}]*)?\}\.", RegexOptions.CultureInvariant);

    /// <summary>A cause as the end of a sentence the message closes: no trailing blanks or periods.</summary>
    public static string Fragment(string? cause) => (cause ?? "").TrimEnd().TrimEnd('.').TrimEnd();

    /// <summary>An exception's message as such a fragment.</summary>
    public static string Of(Exception e) => Fragment(e.Message);

    /// <summary>The template formatted with its causes made fragments (string and exception arguments before a period).</summary>
    public static string Format(string template, object?[]? args)
    {
        if (args == null || args.Length == 0) return template;
        var shaped = (object?[])args.Clone();
        foreach (Match m in PlaceholderBeforePeriod.Matches(template))
        {
            var i = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (i >= shaped.Length) continue;
            shaped[i] = shaped[i] switch
            {
                string s => Fragment(s),
                Exception e => Of(e),
                var other => other,
            };
        }
        return string.Format(CultureInfo.CurrentCulture, template, shaped);
    }
}

/// <summary>The tasks' logging helper: every resource message is formatted by <see cref="Sentences.Format"/>.</summary>
public sealed class SentenceLoggingHelper : TaskLoggingHelper
{
    public SentenceLoggingHelper(ITask task) : base(task) { }

    public override string FormatString(string unformatted, params object[] args) => Sentences.Format(unformatted, args);
}
