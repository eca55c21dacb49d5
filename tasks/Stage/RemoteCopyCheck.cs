using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

/// <summary>
/// Checks what a remote copy (rsync or scp, whose other end is the untrusted peer) actually put into the
/// temporary folder: only regular files that the listing named, each at the size it named. Every file
/// that passes gets <see cref="StagedFiles.Mode"/> (whatever mode the copy gave it). Anything else (a
/// symlink, a folder, a device, a file the listing did not name, a wrong size) is a problem; the caller
/// then removes the whole temporary folder, so none of it is ever staged.
/// </summary>
public static class RemoteCopyCheck
{
    public sealed record Finding(string Name, string Reason);

    /// <summary>The problems found (empty when the copy is exactly the listing) and the listed files that did not arrive.</summary>
    public static (List<Finding> Problems, List<string> Missing) Check(string temp, IReadOnlyList<RemoteEntry> listed)
    {
        var problems = new List<Finding>();
        var wanted = listed.ToDictionary(e => e.Name, StringComparer.Ordinal);
        using var dir = DirectoryHandle.Open(temp, followLink: false, out var errno);
        var names = dir?.ReadNames(out errno);
        if (dir == null || names == null)
        {
            problems.Add(new Finding(temp, "cannot be read: " + Posix.ErrorText(errno)));
            return (problems, new List<string>());
        }

        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var bytes in names)
        {
            var name = PosixPath.Decode(bytes);
            present.Add(name);
            var reason = CheckOne(dir, bytes, wanted.GetValueOrDefault(name));
            if (reason != null) problems.Add(new Finding(PosixPath.Display(name), reason));
        }
        var missing = listed.Where(e => !present.Contains(e.Name)).Select(e => PosixPath.Display(e.Name)).ToList();
        return (problems, missing);
    }

    private static string? CheckOne(DirectoryHandle dir, byte[] name, RemoteEntry? listed)
    {
        var st = dir.LStat(name, out var errno);
        if (st == null) return "cannot be examined: " + Posix.ErrorText(errno);
        if (!st.Value.IsRegular) return st.Value.IsSymlink ? "is a symbolic link" : st.Value.IsDirectory ? "is a folder" : "is a special file";
        if (listed == null) return "was not in the peer's listing";
        if (listed.Type != 'f') return "was not listed as a regular file";

        // The facts that count are those of the file as opened (without following a link).
        using var handle = dir.OpenRead(name, out errno);
        var opened = handle == null ? null : Posix.FStat(handle, out errno);
        if (handle == null || opened is not { IsRegular: true } f) return "cannot be opened as a regular file: " + Posix.ErrorText(errno);
        if (f.Inode != st.Value.Inode || f.Device != st.Value.Device) return "changed while it was checked";
        if (f.Size != listed.Size) return $"has {f.Size} bytes where the listing said {listed.Size}";
        if (!Posix.FChmod(handle, StagedFiles.Mode, out errno)) return "cannot get mode 0600: " + Posix.ErrorText(errno);
        return null;
    }
}
