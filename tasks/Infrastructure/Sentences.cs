using System.Globalization;
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
    /// <summary>A cause as the end of a sentence the message closes: no trailing blanks or periods.</summary>
    public static string Fragment(string? cause) => (cause ?? "").TrimEnd().TrimEnd('.').TrimEnd();

    /// <summary>An exception's message as such a fragment.</summary>
    public static string Of(Exception e) => Fragment(e.Message);

    /// <summary>The template formatted with its causes made fragments (string and exception arguments before a period).</summary>
    public static string Format(string template, object?[]? args)
    {
        if (args == null || args.Length == 0) return template;
        var shaped = (object?[])args.Clone();
        foreach (var index in PlaceholdersBeforePeriod(template))
        {
            var i = int.Parse(index, CultureInfo.InvariantCulture);
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

    /// <summary>
    /// The indexes of the placeholders a period follows, as the regular expression <c>(?&lt;!\{)\{(\d+)(?:[,:][^}]*)?\}\.</c>
    /// finds them (left to right, without overlaps), in plain code: every message of every task is formatted here, and
    /// building that expression was a start-up cost of every run (docs/development.md, "Start-up").
    /// </summary>
    internal static List<string> PlaceholdersBeforePeriod(string template)
    {
        var found = new List<string>();
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] != '{' || (i > 0 && template[i - 1] == '{')) { i++; continue; }
            var j = i + 1;
            while (j < template.Length && char.IsDigit(template[j])) j++;
            var digits = j - i - 1;
            if (digits > 0 && j < template.Length && template[j] is ',' or ':')
                while (++j < template.Length && template[j] != '}') { }
            if (digits > 0 && j + 1 < template.Length && template[j] == '}' && template[j + 1] == '.')
            {
                found.Add(template.Substring(i + 1, digits));
                i = j + 2;
            }
            else i++;
        }
        return found;
    }
}

/// <summary>The tasks' logging helper: every resource message is formatted by <see cref="Sentences.Format"/>.</summary>
public sealed class SentenceLoggingHelper : TaskLoggingHelper
{
    public SentenceLoggingHelper(ITask task) : base(task) { }

    public override string FormatString(string unformatted, params object[] args) => Sentences.Format(unformatted, args);
}
