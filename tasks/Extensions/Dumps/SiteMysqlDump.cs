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

    /// <summary>
    /// A [client] option file for these settings (it holds the password: written mode 0600), through
    /// <see cref="MysqlOptionFile"/>, which quotes every value and never writes one with a line break.
    /// </summary>
    public string OptionsFileText()
    {
        var options = new List<(string, string)> { ("user", User), ("password", Password) };
        if (Host != null) options.Add(("host", Host));
        if (Port != null) options.Add(("port", Port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (Socket != null) options.Add(("socket", Socket));
        return MysqlOptionFile.Text("client", options);
    }
}

/// <summary>
/// Dumps a web application's database with mariadb-dump (--single-transaction, so the site can keep
/// running). The password from the application's configuration reaches the client through a
/// mode-0600 option file that is removed afterwards, never through the command line; the settings
/// were checked with <see cref="SiteValues"/> and are written by <see cref="MysqlOptionFile"/>.
/// </summary>
internal static class SiteMysqlDump
{
    private static readonly string[] Arguments = { "--opt", "--single-transaction", "--routines", "--triggers" };

    public static DumpWriter.Outcome Write(string path, DumpCompression compression, string program, SiteDatabase database,
        TimeSpan timeout, CancellationToken cancel)
    {
        var optionsFile = MysqlOptionFile.WriteTemporary(database.OptionsFileText());
        try
        {
            // --defaults-file (first): only this file is read, not /etc/mysql/my.cnf or root's ~/.my.cnf, so no
            // credentials or options of the backup machine reach the server the site's file names.
            var args = new List<string> { "--defaults-file=" + optionsFile };
            args.AddRange(Arguments);
            // "--": the database name from the site's file stays a name even when it starts with "-"
            // (a DB_NAME of "--result-file=/etc/passwd" would otherwise be an option of the dump program).
            args.AddRange(new[] { "--databases", "--", database.Name });
            return DumpWriter.Write(path, compression, program, args, new Dictionary<string, string?>(), timeout, cancel);
        }
        finally
        {
            File.Delete(optionsFile);
        }
    }
}
