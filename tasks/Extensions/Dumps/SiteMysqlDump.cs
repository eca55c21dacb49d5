namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>A web application's MySQL/MariaDB database, as its own configuration file names it.</summary>
internal sealed record SiteDatabase(string Name, string User, string Password, string? Host, int? Port, string? Socket)
{
    /// <summary>From a PHP application's host value: "host", "host:port" or "host:/path/to/socket" (mysqli's forms).</summary>
    public static SiteDatabase FromHostValue(string name, string user, string password, string hostValue)
    {
        var (host, port, socket) = SplitHost(hostValue);
        return new SiteDatabase(name, user, password, host, port, socket);
    }

    private static (string? Host, int? Port, string? Socket) SplitHost(string value)
    {
        var colon = value.IndexOf(':');
        if (colon < 0) return (Nullable(value), null, null);
        var host = Nullable(value[..colon]);
        var rest = value[(colon + 1)..];
        if (rest.StartsWith('/')) return (host ?? "localhost", null, rest);
        return int.TryParse(rest, out var port) ? (host, port, null) : (Nullable(value), null, null);
    }

    private static string? Nullable(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>A [client] option file for these settings (it holds the password: written mode 0600).</summary>
    public string OptionsFileText()
    {
        var lines = new List<string> { "[client]", "user=" + Quote(User), "password=" + Quote(Password) };
        if (Host != null) lines.Add("host=" + Quote(Host));
        if (Port != null) lines.Add("port=" + Port);
        if (Socket != null) lines.Add("socket=" + Quote(Socket));
        return string.Join("\n", lines) + "\n";
    }

    // Option-file values in double quotes, with \ and " escaped, keep #, ; and spaces literal.
    private static string Quote(string v) => "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

/// <summary>
/// Dumps a web application's database with mariadb-dump (--single-transaction, so the site can keep
/// running). The password from the application's configuration reaches the client through a
/// mode-0600 option file that is removed afterwards, never through the command line.
/// </summary>
internal static class SiteMysqlDump
{
    private static readonly string[] Arguments = { "--opt", "--single-transaction", "--routines", "--triggers" };

    public static DumpWriter.Outcome Write(string path, DumpCompression compression, string program, SiteDatabase database,
        TimeSpan timeout, CancellationToken cancel)
    {
        var optionsFile = WriteOptionsFile(database);
        try
        {
            var args = new List<string> { "--defaults-extra-file=" + optionsFile };
            args.AddRange(Arguments);
            args.AddRange(new[] { "--databases", database.Name });
            return DumpWriter.Write(path, compression, program, args, new Dictionary<string, string?>(), timeout, cancel);
        }
        finally
        {
            File.Delete(optionsFile);
        }
    }

    private static string WriteOptionsFile(SiteDatabase database)
    {
        var path = Path.Combine(Path.GetTempPath(), "bkp-site-" + Guid.NewGuid().ToString("N") + ".cnf");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        // Created 0600, so the password is never readable by others, not even for a moment.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(path, new System.Text.UTF8Encoding(false), options))
            writer.Write(database.OptionsFileText());
        return path;
    }
}
