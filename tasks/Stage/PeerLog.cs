using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Stage;

/// <summary>
/// One peer's log lines, held back while peers are staged in parallel and written together
/// when the peer is done, so each peer's story reads in one piece.
/// </summary>
public sealed class PeerLog
{
    private enum Kind { Error, Warning, High, Normal }

    private readonly List<(Kind Kind, string Resource, object[] Args)> _lines = new();

    /// <summary>An error was logged (a forgiven failure is a warning and does not count).</summary>
    public bool Failed { get; private set; }

    public void Error(string resource, params object[] args)
    {
        Failed = true;
        _lines.Add((Kind.Error, resource, args));
    }

    public void Warning(string resource, params object[] args) => _lines.Add((Kind.Warning, resource, args));
    public void High(string resource, params object[] args) => _lines.Add((Kind.High, resource, args));
    public void Detail(string resource, params object[] args) => _lines.Add((Kind.Normal, resource, args));

    /// <summary>A peer failure: an error, or a warning when the peer's IgnoreFailures forgives it.</summary>
    public void Failure(bool forgiven, string resource, params object[] args)
    {
        if (forgiven) Warning(resource, args);
        else Error(resource, args);
    }

    public void WriteTo(TaskLoggingHelper log)
    {
        foreach (var (kind, resource, args) in _lines)
        {
            switch (kind)
            {
                case Kind.Error: log.LogErrorWithCodeFromResources(resource, args); break;
                case Kind.Warning: log.LogWarningWithCodeFromResources(resource, args); break;
                case Kind.High: log.LogMessageFromResources(MessageImportance.High, resource, args); break;
                default: log.LogMessageFromResources(MessageImportance.Normal, resource, args); break;
            }
        }
    }
}
