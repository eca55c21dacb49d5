namespace BackupBuild.Tasks.Extensions.Dumps;

/// <summary>Why a dump failed, read from the client's error output, so the error says what to fix.</summary>
internal enum DumpFailure { Other, ServerUnreachable, AccessDenied, TimedOut }

internal static class DumpFailures
{
    public static DumpFailure Classify(DumpWriter.Outcome outcome)
    {
        if (outcome.TimedOut) return DumpFailure.TimedOut;
        var e = outcome.Error;
        // MariaDB/MySQL: ERROR 1045 "Access denied for user"; PostgreSQL: "password authentication failed",
        // "no password supplied" (-w and no password file entry), "role … does not exist".
        if (e.Contains("Access denied for user") || e.Contains("password authentication failed") ||
            e.Contains("no password supplied") || (e.Contains("role \"") && e.Contains("does not exist")))
            return DumpFailure.AccessDenied;
        // MariaDB/MySQL: error 2002/2003/2005 "Can't connect…"; PostgreSQL: "connection to server … failed: Connection refused"
        // or "…: No such file or directory" (no socket).
        if (e.Contains("Can't connect to") || e.Contains("Unknown MySQL server host") || e.Contains("Unknown server host") ||
            e.Contains("Connection refused") || (e.Contains("connection to server") && e.Contains("No such file or directory")) ||
            e.Contains("could not translate host name"))
            return DumpFailure.ServerUnreachable;
        return DumpFailure.Other;
    }
}
