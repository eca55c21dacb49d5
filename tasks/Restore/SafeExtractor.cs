using BackupBuild.Tasks.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Writes archive members under one destination folder and nowhere else. The destination is opened once and
/// held; every folder on the way to a member is resolved beneath it without following a symbolic link
/// (<see cref="Beneath.OpenFolder"/>: openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or openat O_NOFOLLOW one
/// component at a time), and the member is created relative to the folder so found (*at calls), so a folder
/// swapped for a link while the restore runs cannot send a file elsewhere. Absolute names and ".." are refused
/// before that (<see cref="Relative"/>).
/// <para>A file is written under a temporary name (<see cref="Beneath.TempPrefix"/>), given its owner (as root),
/// mode and time, and only then renamed to its final name: a final name always holds a complete file. An
/// existing file is replaced only with <c>overwrite</c>; one identical to the member (what an interrupted run
/// finished) is recognised as already restored. Temporary names an interrupted run left are removed from each
/// folder the next run opens.</para>
/// <para>Modes: as root, the archived mode with setuid, setgid and sticky bits, after the archived owner
/// (numeric ids) is set; otherwise the restoring user owns the file and setuid and setgid are cleared.</para>
/// Names may be any bytes (<see cref="PosixPath"/>): every call on the file system takes the exact bytes.
/// </summary>
internal sealed class SafeExtractor : IDisposable
{
    /// <summary>The longest name component Linux file systems take (NAME_MAX).</summary>
    public const int NameMax = 255;

    private const uint SetIdBits = 0xC00; // S_ISUID | S_ISGID

    private readonly string _root;
    private readonly bool _overwrite;
    private readonly bool _asRoot;
    private readonly bool _dryRun;
    private readonly int _rootFd; // -1 only in a dry run into a folder that does not exist yet
    private readonly HashSet<string> _swept = new(StringComparer.Ordinal);
    // Folders this run made (mkdirat succeeded): empty when made, so nothing to sweep and, without overwrite, no lstat per
    // member; a name taken there after all (by someone else meanwhile) is still never replaced: RENAME_NOREPLACE (NameTaken).
    private readonly HashSet<string> _made = new(StringComparer.Ordinal);
    private readonly byte[] _buffer = new byte[1 << 20];
    private readonly byte[] _compare = new byte[1 << 20];

    /// <exception cref="ExtractFailure">The destination cannot be opened.</exception>
    public SafeExtractor(string destination, bool overwrite, bool dryRun = false)
    {
        _root = Path.GetFullPath(destination).TrimEnd('/');
        if (_root.Length == 0) _root = "/";
        _overwrite = overwrite;
        _dryRun = dryRun;
        _asRoot = Posix.IsRoot;
        _rootFd = Beneath.OpenRoot(_root, out var errno);
        if (_rootFd < 0 && !(dryRun && errno == Beneath.ENOENT)) throw new ExtractFailure("open", _root, errno);
    }

    public enum Outcome { Written, ThroughSymlink, Exists, InTheWay }

    /// <summary>Where a member goes: its folder, held open (null in a dry run when the folder does not exist yet), and its name in it.</summary>
    public sealed class Place : IDisposable
    {
        internal Place(HeldFolder? folder, string name, string target)
        {
            Folder = folder;
            Name = name;
            Target = target;
        }

        public HeldFolder? Folder { get; }
        public string Name { get; }
        /// <summary>The full path, for messages.</summary>
        public string Target { get; }
        /// <summary>What has the member's name already (lstat), or null.</summary>
        public PosixStat? Existing { get; internal set; }
        /// <summary>Not looked at (a folder this run made, no overwrite): a name taken meanwhile shows at the rename (<see cref="NameTaken"/>).</summary>
        internal bool Unchecked { get; set; }

        public void Dispose() => Folder?.Dispose();
    }

    /// <summary>Messages of leftovers removed (temporary names of an interrupted run), for the caller to log.</summary>
    public List<string> RemovedLeftovers { get; } = new();

    /// <summary>The member's relative path (segments joined by '/'), or null when the name climbs out or is absolute.</summary>
    public static string? Relative(string memberName)
    {
        if (memberName.Length == 0 || memberName.StartsWith('/') || memberName.Contains('\0')) return null;
        if (IsPlainRelative(memberName)) return memberName; // the usual name: nothing to take out
        var parts = new List<string>();
        foreach (var part in memberName.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") return null;
            parts.Add(part);
        }
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    /// <summary>True when every '/'-separated component of <paramref name="name"/> is there and is neither "." nor "..".</summary>
    private static bool IsPlainRelative(string name)
    {
        var start = 0;
        while (true)
        {
            var end = name.IndexOf('/', start);
            var part = end < 0 ? name.AsSpan(start) : name.AsSpan(start, end - start);
            if (part.Length == 0 || part is "." or "..") return false;
            if (end < 0) return true;
            start = end + 1;
        }
    }

    /// <summary>The first component of <paramref name="relative"/> longer than <see cref="NameMax"/> bytes, or null.</summary>
    public static string? TooLongComponent(string relative)
    {
        // A character is at most 3 bytes (a surrogate pair 4 for 2, an escaped byte 1): no component of up to 85 characters can be too long.
        var start = 0;
        var longest = 0;
        while (start <= relative.Length)
        {
            var end = relative.IndexOf('/', start);
            if (end < 0) end = relative.Length;
            longest = Math.Max(longest, end - start);
            start = end + 1;
        }
        if (longest * 3 <= NameMax) return null;
        return relative.Split('/').FirstOrDefault(p => PosixPath.Encode(p).Length > NameMax);
    }

    public string Target(string relative) => _root == "/" ? "/" + relative : _root + "/" + relative;

    /// <summary>The mode a restored file gets: setuid and setgid only when restoring as root (with the owner).</summary>
    public uint ModeFor(uint archived) => _asRoot ? archived & 0xFFF : archived & 0xFFF & ~SetIdBits;

    /// <summary>
    /// Finds (and, unless a dry run, makes) the folder of a member beneath the destination and looks at what has
    /// its name. <paramref name="blocker"/> names what stands in the way.
    /// </summary>
    /// <exception cref="ExtractFailure">A folder on the way could not be created or opened.</exception>
    public Outcome Prepare(string relative, out Place? place, out string blocker)
    {
        place = null;
        var slash = relative.LastIndexOf('/');
        var outcome = OpenFolder(slash < 0 ? "" : relative[..slash], create: !_dryRun, out var folder, out blocker);
        if (outcome != Outcome.Written) return outcome;
        place = new Place(folder, relative[(slash + 1)..], Target(relative));
        if (folder == null) return Outcome.Written;
        if (!_overwrite && _made.Contains(folder.Relative))
        {
            place.Unchecked = true; // the rename itself checks (RENAME_NOREPLACE)
            return Outcome.Written;
        }
        var existing = Beneath.LStat(folder.Fd, place.Name, out _);
        if (existing == null) return Outcome.Written;
        place.Existing = existing;
        blocker = place.Target;
        if (existing.Value.IsDirectory) return Outcome.InTheWay;
        return _overwrite ? Outcome.Written : Outcome.Exists;
    }

    /// <summary>The folder <paramref name="folderRelative"/> beneath the destination, opened without following a link.</summary>
    private Outcome OpenFolder(string folderRelative, bool create, out HeldFolder? folder, out string blocker)
    {
        folder = null;
        blocker = "";
        if (_rootFd < 0) return Outcome.Written; // a dry run into a destination to be made
        int fd, errno;
        if (folderRelative.Length == 0)
        {
            fd = Beneath.Dup(_rootFd, out errno);
            if (fd < 0) throw new ExtractFailure("dup", _root, errno);
            folder = Held(fd, _root, folderRelative);
            return Outcome.Written;
        }
        if (Beneath.UseOpenat2)
        {
            // The whole way in one call when it exists; anything else (missing, a link, a file) is walked below.
            fd = Beneath.OpenFolder(_rootFd, folderRelative, out errno);
            if (fd >= 0)
            {
                folder = Held(fd, Target(folderRelative), folderRelative);
                return Outcome.Written;
            }
        }
        var current = Beneath.Dup(_rootFd, out errno);
        if (current < 0) throw new ExtractFailure("dup", _root, errno);
        var path = _root == "/" ? "" : _root;
        var relative = "";
        foreach (var part in folderRelative.Split('/'))
        {
            path += "/" + part;
            relative = relative.Length == 0 ? part : relative + "/" + part;
            fd = Beneath.OpenFolder(current, part, out errno);
            // Missing: made, then opened (again, a few times, when something else removes or makes it meanwhile).
            for (var attempt = 0; fd < 0 && errno == Beneath.ENOENT && attempt < 10; attempt++)
            {
                if (!create)
                {
                    Beneath.Close(current);
                    return Outcome.Written;
                }
                if (Beneath.MakeFolder(current, part, out var made)) _made.Add(relative);
                else if (made != Beneath.EEXIST)
                {
                    Beneath.Close(current);
                    throw new ExtractFailure("mkdir", path, made);
                }
                fd = Beneath.OpenFolder(current, part, out errno);
            }
            if (fd < 0)
            {
                var st = Beneath.LStat(current, part, out _);
                Beneath.Close(current);
                blocker = path;
                if (errno == Beneath.ELOOP || st is { IsSymlink: true }) return Outcome.ThroughSymlink;
                if (errno == Beneath.ENOTDIR || st is { IsDirectory: false }) return Outcome.InTheWay;
                throw new ExtractFailure("open", path, errno);
            }
            Beneath.Close(current);
            current = fd;
        }
        folder = Held(current, path, folderRelative);
        return Outcome.Written;
    }

    private HeldFolder Held(int fd, string path, string folderRelative)
    {
        // Once per folder and run: what an interrupted run left under a temporary name goes.
        if (!_dryRun && _swept.Add(folderRelative) && !_made.Contains(folderRelative))
            foreach (var name in Beneath.RemoveLeftovers(fd))
                RemovedLeftovers.Add((path == "/" ? "" : path) + "/" + name);
        return new HeldFolder(fd, path, folderRelative);
    }

    /// <summary>
    /// The member's content under a temporary name (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), then owner (as root),
    /// mode and time, then renamed to its name: over what is there only with overwrite.
    /// </summary>
    /// <exception cref="ExtractFailure">A system call failed; the temporary name is gone.</exception>
    public void WriteFile(Place place, TarMember m, Stream content) => WriteFile(place, m, content, fromArchive: true);

    /// <summary><see cref="WriteFile(Place, TarMember, Stream)"/> with the content in memory; safe to call from several threads at once.</summary>
    /// <exception cref="ExtractFailure">A system call failed; the temporary name is gone.</exception>
    public void WriteFile(Place place, TarMember m, byte[] data, int length)
    {
        var dir = place.Folder ?? throw new InvalidOperationException("dry run");
        var temp = Beneath.TempName(place.Name);
        var fd = CreateTemp(dir, temp);
        var published = false;
        try
        {
            using (var handle = new SafeFileHandle(fd, ownsHandle: true))
            {
                if (!Beneath.WriteAll(fd, data.AsSpan(0, length), out var errno)) throw new ExtractFailure("write", place.Target, errno);
                Finish(handle, place, m);
            }
            Publish(dir, temp, place);
            published = true;
        }
        finally
        {
            if (!published) Beneath.Unlink(dir.Fd, temp, out _);
        }
    }

    /// <summary>The file under its temporary name (O_CREAT|O_EXCL): a leftover of this name from an interrupted run is removed first.</summary>
    private static int CreateTemp(HeldFolder dir, string temp)
    {
        var fd = Beneath.CreateFile(dir.Fd, temp, out var errno);
        if (fd < 0 && errno == Beneath.EEXIST)
        {
            Beneath.Unlink(dir.Fd, temp, out _);
            fd = Beneath.CreateFile(dir.Fd, temp, out errno);
        }
        if (fd < 0) throw new ExtractFailure("open", dir.Path + "/" + temp, errno);
        return fd;
    }

    /// <summary>Owner (as root), mode and time of a file written under its temporary name.</summary>
    private void Finish(SafeFileHandle handle, Place place, TarMember m)
    {
        if (_asRoot && !Posix.FChown(handle, m.Uid, m.Gid, out var errno)) throw new ExtractFailure("fchown", place.Target, errno);
        if (!Posix.FChmod(handle, ModeFor(m.Mode), out errno)) throw new ExtractFailure("fchmod", place.Target, errno);
        if (!Posix.FSetTimes(handle, m.Mtime, 0, out errno)) throw new ExtractFailure("futimens", place.Target, errno);
    }

    private void WriteFile(Place place, TarMember m, Stream content, bool fromArchive)
    {
        var dir = place.Folder ?? throw new InvalidOperationException("dry run");
        var temp = Beneath.TempName(place.Name);
        var fd = CreateTemp(dir, temp);
        int errno;
        var published = false;
        try
        {
            using (var handle = new SafeFileHandle(fd, ownsHandle: true))
            {
                while (true)
                {
                    int n;
                    try
                    {
                        n = content.Read(_buffer, 0, _buffer.Length);
                    }
                    catch (IOException e) when (!fromArchive)
                    {
                        throw new ExtractFailure("read", e.Message, Beneath.EINVAL);
                    }
                    if (n == 0) break;
                    if (!Beneath.WriteAll(fd, _buffer.AsSpan(0, n), out errno)) throw new ExtractFailure("write", place.Target, errno);
                }
                Finish(handle, place, m);
            }
            Publish(dir, temp, place);
            published = true;
        }
        finally
        {
            if (!published) Beneath.Unlink(dir.Fd, temp, out _);
        }
    }

    private void Publish(HeldFolder dir, string temp, Place place)
    {
        if (Beneath.Rename(dir.Fd, temp, place.Name, _overwrite, out var errno)) return;
        // Not looked at before (a folder this run made): what took the name is told as Prepare would have told it.
        if (errno == Beneath.EEXIST && place.Unchecked)
            throw new NameTaken(place.Target, Beneath.LStat(dir.Fd, place.Name, out _) is { IsDirectory: true });
        throw new ExtractFailure("rename", place.Target, errno);
    }

    /// <summary>A symbolic link holding exactly the member's target bytes, with its owner (as root) and time, made under a temporary name and renamed.</summary>
    public void WriteSymlink(Place place, TarMember m)
    {
        var dir = place.Folder ?? throw new InvalidOperationException("dry run");
        var temp = Beneath.TempName(place.Name);
        Beneath.Unlink(dir.Fd, temp, out _);
        if (!Beneath.Symlink(m.LinkName, dir.Fd, temp, out var errno)) throw new ExtractFailure("symlink", place.Target, errno);
        var published = false;
        try
        {
            if (_asRoot && !Beneath.LChown(dir.Fd, temp, m.Uid, m.Gid, out errno)) throw new ExtractFailure("lchown", place.Target, errno);
            if (!Beneath.LSetTimes(dir.Fd, temp, m.Mtime, out errno)) throw new ExtractFailure("utimensat", place.Target, errno);
            Publish(dir, temp, place);
            published = true;
        }
        finally
        {
            if (!published) Beneath.Unlink(dir.Fd, temp, out _);
        }
    }

    /// <summary>Opens a regular file restored earlier beneath the destination; null when it is not there or not a regular file.</summary>
    private FileStream? OpenRestored(string relative, out PosixStat stat)
    {
        stat = default;
        var slash = relative.LastIndexOf('/');
        if (OpenFolder(slash < 0 ? "" : relative[..slash], create: false, out var folder, out _) != Outcome.Written || folder == null)
            return null;
        using (folder)
        {
            var fd = Beneath.OpenFileRead(folder.Fd, relative[(slash + 1)..], out _);
            if (fd < 0) return null;
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            if (Posix.FStat(handle, out _) is not { IsRegular: true } st)
            {
                handle.Dispose();
                return null;
            }
            stat = st;
            return new FileStream(handle, FileAccess.Read, 1);
        }
    }

    /// <summary>A hard-link member: a copy of the regular file restored earlier in this run under <paramref name="sourceRelative"/>.</summary>
    public void WriteCopy(Place place, string sourceRelative, TarMember m)
    {
        using var input = OpenRestored(sourceRelative, out var st)
            ?? throw new ExtractFailure("open", Target(sourceRelative), Beneath.ELOOP);
        WriteFile(place, m with { Mode = st.Permissions, Mtime = st.MtimeSeconds, Size = st.Size }, input, fromArchive: false);
    }

    /// <summary>
    /// True when what has the member's name is already the member, as an interrupted run (or an earlier restore)
    /// left it: a link with the same target, or a regular file with the same size, time, mode (and owner, as
    /// root) and the same bytes. Reads <paramref name="content"/>.
    /// </summary>
    public bool SameAs(Place place, TarMember m, Stream? content)
    {
        if (place.Folder == null || place.Existing is not { } e) return false;
        if (_asRoot && (e.Uid != m.Uid || e.Gid != m.Gid)) return false;
        if (m.Kind == TarMemberKind.Symlink) return e.IsSymlink && Beneath.ReadLink(place.Folder.Fd, place.Name) == m.LinkName;
        if (!e.IsRegular || e.Size != m.Size || e.MtimeSeconds != m.Mtime || e.Permissions != ModeFor(m.Mode) || content == null) return false;
        var fd = Beneath.OpenFileRead(place.Folder.Fd, place.Name, out _);
        if (fd < 0) return false;
        using var existing = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1);
        if (Posix.FStat(existing.SafeFileHandle, out _) is not { IsRegular: true } opened || opened.Inode != e.Inode) return false;
        while (true)
        {
            var n = content.ReadAtLeast(_buffer, _buffer.Length, throwOnEndOfStream: false); // the archive: its errors go up
            int k;
            try
            {
                k = existing.ReadAtLeast(_compare, _compare.Length, throwOnEndOfStream: false);
            }
            catch (IOException)
            {
                return false; // the existing file does not read: not the member (and not the archive's fault)
            }
            if (n != k || !_buffer.AsSpan(0, n).SequenceEqual(_compare.AsSpan(0, k))) return false;
            if (n == 0) return true;
        }
    }

    /// <summary><see cref="SameAs"/> for a hard-link member: the same as the file restored under <paramref name="sourceRelative"/>.</summary>
    public bool SameAsCopy(Place place, string sourceRelative, TarMember m)
    {
        using var input = OpenRestored(sourceRelative, out var st);
        return input != null && SameAs(place, m with { Kind = TarMemberKind.File, Mode = st.Permissions, Mtime = st.MtimeSeconds, Size = st.Size }, input);
    }

    public enum LinkOutcome { Linked, AlreadyLinked, Differs, Missing }

    /// <summary>
    /// Makes <paramref name="otherRelative"/> a hard link of <paramref name="firstRelative"/>, both regular files restored
    /// beneath the destination, when they are the same file: the same size, time, mode, owner (as root) and bytes. The
    /// link is made under a temporary name in the second name's folder and renamed over it, so the name always holds
    /// the file. Nothing is changed when they differ or either is not a regular file.
    /// </summary>
    /// <exception cref="ExtractFailure">linkat or renameat failed; the second name still holds its copy.</exception>
    public LinkOutcome Link(string firstRelative, string otherRelative)
    {
        using var first = OpenRestored(firstRelative, out var a);
        using var other = OpenRestored(otherRelative, out var b);
        if (first == null || other == null) return LinkOutcome.Missing;
        if (a.Device == b.Device && a.Inode == b.Inode) return LinkOutcome.AlreadyLinked;
        if (a.Size != b.Size || a.MtimeSeconds != b.MtimeSeconds || a.Permissions != b.Permissions || a.Uid != b.Uid || a.Gid != b.Gid)
            return LinkOutcome.Differs;
        while (true)
        {
            var n = first.ReadAtLeast(_buffer, _buffer.Length, throwOnEndOfStream: false);
            var k = other.ReadAtLeast(_compare, _compare.Length, throwOnEndOfStream: false);
            if (n != k || !_buffer.AsSpan(0, n).SequenceEqual(_compare.AsSpan(0, k))) return LinkOutcome.Differs;
            if (n == 0) break;
        }
        var slashA = firstRelative.LastIndexOf('/');
        var slashB = otherRelative.LastIndexOf('/');
        if (OpenFolder(slashA < 0 ? "" : firstRelative[..slashA], create: false, out var folderA, out _) != Outcome.Written || folderA == null)
            return LinkOutcome.Missing;
        using (folderA)
        {
            if (OpenFolder(slashB < 0 ? "" : otherRelative[..slashB], create: false, out var folderB, out _) != Outcome.Written || folderB == null)
                return LinkOutcome.Missing;
            using (folderB)
            {
                var nameA = firstRelative[(slashA + 1)..];
                var nameB = otherRelative[(slashB + 1)..];
                // Still the files compared (nothing swapped them meanwhile).
                if (Beneath.LStat(folderA.Fd, nameA, out _) is not { IsRegular: true } sa || sa.Inode != a.Inode ||
                    Beneath.LStat(folderB.Fd, nameB, out _) is not { IsRegular: true } sb || sb.Inode != b.Inode)
                    return LinkOutcome.Missing;
                var temp = Beneath.TempName(nameB);
                Beneath.Unlink(folderB.Fd, temp, out _);
                if (!Beneath.Link(folderA.Fd, nameA, folderB.Fd, temp, out var errno)) throw new ExtractFailure("link", Target(otherRelative), errno);
                if (!Beneath.Rename(folderB.Fd, temp, nameB, replace: true, out errno))
                {
                    Beneath.Unlink(folderB.Fd, temp, out _);
                    throw new ExtractFailure("rename", Target(otherRelative), errno);
                }
                return LinkOutcome.Linked;
            }
        }
    }

    /// <summary>
    /// Gives a folder beneath the destination the archived mode (setuid/setgid only as root), owner (as root) and
    /// modification time, through a descriptor opened without following a link. False when the folder is not there
    /// (or is a link or not a folder): nothing is changed.
    /// </summary>
    /// <exception cref="ExtractFailure">fchown, fchmod or futimens failed.</exception>
    public bool SetFolder(string relative, uint mode, uint uid, uint gid, long mtime)
    {
        if (OpenFolder(relative, create: false, out var folder, out _) != Outcome.Written || folder == null) return false;
        using (folder)
        {
            if (Beneath.LStat(folder.Fd, ".", out _) is not { IsDirectory: true }) return false;
            var handle = new SafeFileHandle((IntPtr)folder.Fd, ownsHandle: false);
            var target = Target(relative);
            if (_asRoot && !Posix.FChown(handle, uid, gid, out var errno)) throw new ExtractFailure("fchown", target, errno);
            if (!Posix.FChmod(handle, ModeFor(mode), out errno)) throw new ExtractFailure("fchmod", target, errno);
            if (!Posix.FSetTimes(handle, mtime, 0, out errno)) throw new ExtractFailure("futimens", target, errno);
            return true;
        }
    }

    /// <summary>Removes what this run wrote at <paramref name="relative"/> (a file or a link), if it is there.</summary>
    public void Remove(string relative)
    {
        var slash = relative.LastIndexOf('/');
        if (OpenFolder(slash < 0 ? "" : relative[..slash], create: false, out var folder, out _) != Outcome.Written || folder == null) return;
        using (folder)
        {
            var name = relative[(slash + 1)..];
            if (Beneath.LStat(folder.Fd, name, out _) is { IsDirectory: false } && !Beneath.Unlink(folder.Fd, name, out var errno) && errno != Beneath.ENOENT)
                throw new ExtractFailure("unlink", Target(relative), errno);
        }
    }

    /// <summary>Flushes of the destination's file system while writing (<see cref="EarlyFlush"/>); null in a dry run.</summary>
    public EarlyFlush? StartEarlyFlush() => _dryRun ? null : EarlyFlush.For(_rootFd);

    /// <summary>
    /// Flushes everything written to the destination's file system to the disk (one syncfs, not an fsync per file).
    /// False with the reason when the file system reports an error; true in a dry run.
    /// </summary>
    public bool Sync(out string error)
    {
        error = "";
        if (_dryRun || _rootFd < 0) return true;
        if (Beneath.SyncFileSystem(_rootFd, out var errno)) return true;
        error = "syncfs " + PosixPath.Display(_root) + ": " + Posix.ErrorText(errno);
        return false;
    }

    public void Dispose()
    {
        if (_rootFd >= 0) Beneath.Close(_rootFd);
    }
}
