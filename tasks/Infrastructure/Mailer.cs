using System.Net.Sockets;
using System.Text;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Sends plain-text mail to administrators, either by handing the message to a sendmail-compatible
/// program (sendmail, msmtp, postfix's sendmail; `-i` and the recipients as arguments, the message on
/// standard input) or by speaking SMTP to a relay. No passwords: a relay that needs one is set up in
/// the sendmail-compatible program's own configuration file.
/// </summary>
public sealed class Mailer
{
    public enum Method { Sendmail, Smtp }

    public required Method Via { get; init; }
    public required string Sendmail { get; init; }
    public required IReadOnlyList<string> SendmailArguments { get; init; }
    public required string SmtpHost { get; init; }
    public required int SmtpPort { get; init; }
    public required string From { get; init; }
    public required IReadOnlyList<string> To { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    public bool Configured => To.Count > 0;

    public const string ItemType = "BackupMailSettings";

    /// <summary>The metadata of BackupMailSettings, each named after its property.</summary>
    public static readonly string[] Names = { "MailTo", "MailMethod", "MailSendmail", "MailSendmailArguments", "MailSmtpHost", "MailSmtpPort", "MailFrom" };

    /// <summary>
    /// The mail group (item BackupMailSettings), as Validate, the request queue and Report read it; null (and problems)
    /// when it is wrong, a mailer with no recipients when MailTo is unset.
    /// </summary>
    public static Mailer? Parse(Microsoft.Build.Framework.ITaskItem? item, Problems problems)
    {
        var before = problems.All.Count(p => !p.IsWarning);
        var r = new Settings.SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var to = r.Text("MailTo");
        var method = r.Required("MailMethod");
        var sendmail = Settings.ProgramPath.Required(r, "MailSendmail", problems);
        var sendmailArguments = r.Text("MailSendmailArguments");
        var smtpHost = r.Required("MailSmtpHost");
        var from = r.Text("MailFrom");
        var recipients = Values.List(to);
        foreach (var recipient in recipients)
            if (!IsAddress(recipient)) problems.Error("Mail.BadAddress", "MailTo", recipient);
        if (!string.IsNullOrWhiteSpace(from) && !IsAddress(from.Trim())) problems.Error("Mail.BadAddress", "MailFrom", from);
        var via = Method.Sendmail;
        switch (method.ToLowerInvariant())
        {
            case "": case "sendmail": break;
            case "smtp": via = Method.Smtp; break;
            default: problems.Error("Mail.BadMethod", method!); break;
        }
        var port = r.Integer("MailSmtpPort", 1);
        if (problems.All.Count(p => !p.IsWarning) > before) return null;
        return new Mailer
        {
            Via = via, To = recipients,
            Sendmail = sendmail,
            SendmailArguments = string.IsNullOrWhiteSpace(sendmailArguments) ? Array.Empty<string>()
                : sendmailArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            SmtpHost = smtpHost,
            SmtpPort = port,
            From = from.Length == 0 ? "backupbuild@" + Environment.MachineName : from,
        };
    }

    private static bool IsAddress(string s) =>
        s.Length < 255 && s.IndexOf('@') > 0 && s.IndexOf('@') < s.Length - 1 && !s.Any(c => char.IsWhiteSpace(c) || c is '<' or '>' or ',' or ';');

    /// <summary>Sends the message; returns null on success, else why it failed (the caller logs it with its code).</summary>
    public string? Send(string subject, string body)
    {
        if (!Configured) return null;
        var message = Compose(subject, body);
        try
        {
            return Via == Method.Sendmail ? ViaSendmail(message) : ViaSmtp(message);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    internal string Compose(string subject, string body)
    {
        var sb = new StringBuilder();
        sb.Append("From: ").Append(From).Append("\r\n");
        sb.Append("To: ").Append(string.Join(", ", To)).Append("\r\n");
        sb.Append("Subject: ").Append(HeaderValue(subject)).Append("\r\n");
        sb.Append("Date: ").Append(DateTimeOffset.Now.ToString("ddd, dd MMM yyyy HH:mm:ss ", System.Globalization.CultureInfo.InvariantCulture))
          .Append(DateTimeOffset.Now.ToString("zzz", System.Globalization.CultureInfo.InvariantCulture).Replace(":", "")).Append("\r\n");
        sb.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append("@backupbuild>\r\n");
        sb.Append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n");
        sb.Append("Auto-Submitted: auto-generated\r\n\r\n");
        foreach (var line in body.Replace("\r\n", "\n").Split('\n'))
            sb.Append(line).Append("\r\n");
        return sb.ToString();
    }

    private static string HeaderValue(string s)
    {
        var flat = s.Replace('\r', ' ').Replace('\n', ' ');
        return flat.All(c => c < 128) ? flat : "=?utf-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(flat)) + "?=";
    }

    private string? ViaSendmail(string message)
    {
        var args = new List<string>(SendmailArguments) { "-i", "-f", From, "--" };
        args.AddRange(To);
        var r = ProgramRunner.Run(Sendmail, args, Timeout, CancellationToken.None, new ProgramOptions { Input = message.Replace("\r\n", "\n") });
        if (r.NotStarted) return r.Error;
        if (r.TimedOut) return $"{Sendmail} did not finish within {(int)Timeout.TotalSeconds} s";
        return r.ExitCode == 0 ? null : $"{Sendmail} exited with {r.ExitCode}: {(r.Error + r.Output).Trim()}";
    }

    private string? ViaSmtp(string message)
    {
        using var client = new TcpClient();
        if (!client.ConnectAsync(SmtpHost, SmtpPort).Wait(Timeout))
            return $"no answer from {SmtpHost}:{SmtpPort} within {(int)Timeout.TotalSeconds} s";
        client.ReceiveTimeout = client.SendTimeout = (int)Timeout.TotalMilliseconds;
        using var stream = client.GetStream();
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        string? Expect(int code)
        {
            string? line;
            var all = new StringBuilder();
            do
            {
                line = reader.ReadLine();
                if (line == null) return "the server closed the connection";
                all.Append(line).Append(' ');
            } while (line.Length > 3 && line[3] == '-');
            return line.StartsWith(code.ToString(System.Globalization.CultureInfo.InvariantCulture)) ? null : "the server answered " + all.ToString().Trim();
        }
        string? Command(string cmd, int code)
        {
            writer.WriteLine(cmd);
            return Expect(code);
        }
        var failure = Expect(220) ?? Command("EHLO " + Environment.MachineName, 250) ?? Command($"MAIL FROM:<{From}>", 250);
        if (failure != null) return failure;
        foreach (var to in To)
            if ((failure = Command($"RCPT TO:<{to}>", 250)) != null) return failure;
        if ((failure = Command("DATA", 354)) != null) return failure;
        foreach (var line in message.Split("\r\n"))
            writer.WriteLine(line.StartsWith('.') ? "." + line : line);
        failure = Command(".", 250);
        Command("QUIT", 221);
        return failure;
    }
}
