namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>
/// An SQLite database as SQL text with sqlite3's .dump, which reads inside one transaction: consistent
/// while the application keeps writing (waiting up to 60 s for its locks), never a copy of a live file.
/// </summary>
internal static class SqliteDump
{
    public static DumpWriter.Outcome Write(string path, DumpCompression compression, string program, string database,
        TimeSpan timeout, CancellationToken cancel) =>
        // An absolute path is never taken as an option of sqlite3 ("-…") nor as a "file:" URI with parameters.
        !Path.IsPathRooted(database) ? throw new ArgumentException("not an absolute path", nameof(database)) :
        DumpWriter.Write(path, compression, program,
            // -bail: stop at the first error; .timeout waits for the application's writes instead of failing on a busy database.
            new[] { "-bail", "-readonly", "-cmd", ".timeout 60000", database, ".dump" },
            new Dictionary<string, string?>(), timeout, cancel,
            // sqlite3 reports .dump errors inside the output ("/**** ERROR: … ROLLBACK; -- due to errors")
            // and exits 0: only a dump that ends with its COMMIT is complete.
            acceptTail: t => t.TrimEnd().EndsWith("COMMIT;", StringComparison.Ordinal));

    /// <summary>What went wrong, from the error output or, when sqlite3 said nothing there, the end of the dump.</summary>
    public static string Reason(DumpWriter.Outcome outcome) =>
        outcome.ExitCode != 0 || outcome.Error.Length > 0 ? DumpPrograms.LastLines(outcome.Error) : DumpPrograms.LastLines(outcome.Tail);
}
