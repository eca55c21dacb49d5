namespace BackupBuild.Tasks.Infrastructure;

/// <summary>How to reach a remote peer with OpenSSH.</summary>
public sealed record SshEndpoint(
    string Host, int Port, string? User, string? IdentityFile, string? KnownHostsFile,
    IReadOnlyList<string> ShellCommand, TimeSpan ConnectTimeout, TimeSpan IdleTimeout)
{
    /// <summary>ssh's Ciphers option, or empty for ssh's defaults (SshCiphers).</summary>
    public string Ciphers { get; init; } = "";

    public string Target => string.IsNullOrEmpty(User) ? Host : User + "@" + Host;

    /// <summary>
    /// The options every connection gets: no prompts (BatchMode), strict host-key checking,
    /// connect and idle timeouts; plus the port, key and known_hosts file when configured.
    /// </summary>
    public IReadOnlyList<string> Options
    {
        get
        {
            var o = new List<string>
            {
                "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", $"ConnectTimeout={(int)ConnectTimeout.TotalSeconds}",
                "-o", $"ServerAliveInterval={Math.Max(1, (int)IdleTimeout.TotalSeconds / 3)}", "-o", "ServerAliveCountMax=3",
            };
            if (!string.IsNullOrEmpty(IdentityFile)) o.AddRange(new[] { "-i", IdentityFile, "-o", "IdentitiesOnly=yes" });
            if (!string.IsNullOrEmpty(KnownHostsFile)) o.AddRange(new[] { "-o", "UserKnownHostsFile=" + KnownHostsFile });
            if (!string.IsNullOrEmpty(Ciphers)) o.AddRange(new[] { "-o", "Ciphers=" + Ciphers });
            return o;
        }
    }

    /// <summary>The ssh command line as one string, for rsync's -e (rsync splits it, honouring quotes).</summary>
    public string ShellCommandLine => string.Join(' ', ShellCommand.Concat(Options).Select(RemoteShell.Quote));
}

/// <summary>
/// Runs commands on a peer through OpenSSH (with <see cref="ProgramRunner"/>: argument lists, never a local shell, bounded
/// run times). The command for the remote side is one string that the remote shell parses, so every value in it is
/// single-quoted with <see cref="Quote"/>.
/// </summary>
public static class RemoteShell
{
    /// <summary>Unsupported: the connection cannot be made as configured (SshCiphers names no cipher SSH.NET implements).</summary>
    public enum Failure { None, Unreachable, AuthenticationRefused, HostKey, Dropped, Command, Unsupported }

    /// <summary>Quotes a value for a POSIX shell: 'it'\''s' — safe for any byte but NUL.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:@,+%".Contains(c))) return value;
        return "'" + value.Replace("'", "'\\''") + "'";
    }

    /// <summary>
    /// Runs a command on the peer: ssh [options] target -- remoteCommand. Its output comes from an untrusted peer: it is
    /// read as bytes and ssh is stopped the moment it passes <paramref name="outputLimit"/>.
    /// </summary>
    public static ProgramResult Execute(SshEndpoint peer, string remoteCommand, TimeSpan timeout, CancellationToken cancel,
        long outputLimit = 64L * 1024 * 1024)
    {
        var args = new List<string>(peer.ShellCommand.Skip(1));
        args.AddRange(peer.Options);
        args.Add(peer.Target);
        args.Add("--");
        args.Add(remoteCommand);
        return ProgramRunner.Run(peer.ShellCommand[0], args, timeout, cancel, new ProgramOptions { CLocale = true, OutputLimit = outputLimit });
    }

    /// <summary>Names what went wrong from ssh's exit status and messages (ssh exits 255 for its own failures).</summary>
    public static Failure Classify(ProgramResult r)
    {
        if (r.Succeeded) return Failure.None;
        var e = r.Error;
        if (e.Contains("Host key verification failed") || e.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED") ||
            e.Contains("No ED25519 host key is known") || e.Contains("host key is known for"))
            return Failure.HostKey;
        if (e.Contains("Permission denied")) return Failure.AuthenticationRefused;
        if (e.Contains("Connection refused") || e.Contains("timed out") || e.Contains("No route to host") ||
            e.Contains("Could not resolve hostname") || e.Contains("Network is unreachable") || e.Contains("Connection closed by"))
            return r.TimedOut ? Failure.Dropped : Failure.Unreachable;
        if (r.TimedOut || r.ExitCode == 255 || e.Contains("Broken pipe") || e.Contains("connection unexpectedly closed") ||
            e.Contains("Connection reset") || e.Contains("lost connection"))
            return Failure.Dropped;
        return Failure.Command;
    }
}
