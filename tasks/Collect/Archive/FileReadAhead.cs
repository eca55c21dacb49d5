using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Opens and reads the files of an archive ahead of the tar stream, on a few reader threads, so the producer
/// that builds the stream does not wait for one file's system calls after another. Entries go in
/// (<see cref="Enqueue"/>) and come out (<see cref="Next"/>) in the same order: the tar stream is still
/// assembled strictly in walk order by one thread, so the archive is byte for byte what a single thread
/// makes. A reader opens each file by its name beneath its folder (<see cref="DirectoryHandle"/>, never
/// through a symlink in the name) and takes its facts from the opened file (fstat). Given a root (a tree walked
/// without following links), the folder is opened beneath the root without following any link below it
/// (<see cref="DirectoryHandle.OpenBeneath"/>): a folder swapped for a link since the walk makes its files vanish,
/// nothing of the link's target is read. A small file is read
/// whole into a ring of bounded size (and hashed there when asked); a larger one is handed over open, to be
/// streamed by the producer as before. What a reader finds (gone, unreadable, changed while read, a read
/// error) is reported by the producer when it reaches the entry, exactly as if it had read it itself.
/// </summary>
internal sealed class FileReadAhead : IDisposable
{
    /// <summary>Reader threads: enough to overlap the system calls of a few files on any machine.</summary>
    public static int DefaultThreads => Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>Tests only: called by a reader with a file's path just before it opens the file (and its folder, if not held yet).</summary>
    internal static Action<string>? BeforeOpen { get; set; }

    /// <summary>
    /// Tests only: called by a reader with a file's path once it has opened and fstat'ed the file, before reading. While it
    /// is set, small files are always fstat'ed before they are read (not only after, see <see cref="ReadAsWalked"/>).
    /// </summary>
    internal static Action<string>? AfterOpen { get; set; }

    private readonly Item[] items;
    private readonly byte[] ring;
    private readonly int wholeLimit;
    private readonly Thread[] readers;
    private readonly SemaphoreSlim work = new(0);
    private long enqueued, claimed, taken;
    private int ringHead, ringTail, ringEnd, ringInFlight;
    private bool wrapped;
    private volatile bool stopping;
    private readonly DirectoryHandle? root;
    private readonly byte[]? rootPath;
    private readonly int rootErrno;

    /// <param name="threads">Reader threads, at least 1.</param>
    /// <param name="window">Entries read ahead at most.</param>
    /// <param name="ringBytes">Memory for the contents of small files in flight.</param>
    /// <param name="wholeLimit">Files up to this size are read whole; larger ones are streamed by the producer.</param>
    /// <param name="beneath">
    /// The folder every entry lies beneath (opened by this path, which may hold links): no link below it is
    /// followed to reach an entry's folder. Null: each folder is opened by its path as it is now.
    /// </param>
    public FileReadAhead(int threads = 0, int window = 256, int ringBytes = 8 << 20, int wholeLimit = 512 << 10, string? beneath = null)
    {
        if (beneath != null)
        {
            root = DirectoryHandle.Open(beneath, followLink: true, out rootErrno);
            rootPath = PosixPath.Encode(beneath.Length > 1 ? beneath.TrimEnd('/') : beneath);
            if (rootPath is [(byte)'/']) rootPath = [];
        }
        if (threads <= 0) threads = DefaultThreads;
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ringBytes, wholeLimit + 1);
        items = new Item[window];
        // Not cleared: every byte is read into before it is used, and a page never used is never touched (see RingAllocate).
        ring = GC.AllocateUninitializedArray<byte>(ringBytes);
        for (var i = 0; i < window; i++) items[i] = new Item(ring);
        this.wholeLimit = wholeLimit;
        readers = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            // Background threads: a reader that is never disposed must not keep the build process alive.
            readers[i] = new Thread(ReadLoop) { IsBackground = true, Name = "tar reader " + (i + 1) };
            readers[i].Start();
        }
    }

    /// <summary>The furthest into the ring any file was read (tests: how much of it was ever touched).</summary>
    internal int RingHighWater { get; private set; }

    /// <summary>Entries handed in and not yet taken out.</summary>
    public int Pending => (int)(enqueued - taken);

    /// <summary>Entries in flight whose content hash is wanted (see <see cref="Enqueue"/>).</summary>
    public int PendingHashes { get; private set; }

    /// <summary>
    /// True when <see cref="Enqueue"/> would have to wait: the producer takes the oldest entry out first
    /// (<see cref="Next"/>) and adds it to the archive.
    /// </summary>
    public bool Full(in WalkEntry entry) =>
        Pending == items.Length || (Pending > 0 && !RingFits(Reservation(entry)));

    /// <summary>
    /// Hands an entry (a regular file or a symlink) to the readers. <paramref name="hash"/>: the SHA-256 of
    /// the content read is wanted. Call only when not <see cref="Full"/>. Called by the producer only.
    /// </summary>
    public void Enqueue(in WalkEntry entry, bool hash)
    {
        if (Full(entry)) throw new InvalidOperationException("read-ahead full");
        var item = items[enqueued % items.Length];
        item.Reset();
        item.Entry = entry;
        item.Hash = hash;
        var reserve = Reservation(entry);
        if (reserve > 0) item.RingOffset = RingAllocate(reserve);
        item.Reserved = reserve;
        if (hash) PendingHashes++;
        Volatile.Write(ref enqueued, enqueued + 1);
        work.Release();
    }

    /// <summary>
    /// The oldest entry, once a reader has finished with it. Valid until the next <see cref="Enqueue"/>; a
    /// <see cref="Item.Handle"/> it holds belongs to the caller from now on.
    /// </summary>
    public Item Next()
    {
        if (Pending == 0) throw new InvalidOperationException("nothing read ahead");
        var item = items[taken % items.Length];
        item.Done.Wait();
        taken++;
        if (item.Hash) PendingHashes--;
        if (item.Reserved > 0) RingFree(item);
        item.Failure?.Throw();
        return item;
    }

    /// <summary>Stops the readers and closes the files they opened that nobody took.</summary>
    public void Dispose()
    {
        stopping = true;
        work.Release(readers.Length);
        foreach (var r in readers) r.Join();
        root?.Dispose();
        foreach (var item in items)
        {
            item.Handle?.Dispose();
            item.Handle = null;
            item.Done.Dispose();
        }
        work.Dispose();
    }

    // Ring space for a small file: its walk size and one byte more (the probe that tells whether it grew).
    // A file that has grown past it by the time it is opened is streamed instead.
    private int Reservation(in WalkEntry entry) =>
        entry.Stat.IsRegular && entry.Stat.Size <= wholeLimit ? (int)entry.Stat.Size + 1 : 0;

    // The ring hands out contiguous regions in order and gets them back in the same order (only the producer
    // calls these). Regions lie in [tail, head); once one did not fit before the end and started at the
    // beginning (wrapped), they lie in [tail, end) and [0, head).
    private bool RingFits(int size) => !wrapped
        ? ring.Length - ringHead >= size || ringTail >= size
        : ringTail - ringHead >= size;

    // Small files in flight take a small part of the ring: the regions start over at its beginning as soon as they pass
    // twice what is in flight (at least RingLowWater), instead of going round all of it. A million files of a few hundred
    // bytes then keep a few hundred kilobytes of the ring in memory instead of all 8 MiB.
    private const int RingLowWater = 256 << 10;

    private int RingAllocate(int size)
    {
        int offset;
        var early = ringHead + size > Math.Max(RingLowWater, 2 * ringInFlight) && ringTail >= size;
        if (!wrapped && (ring.Length - ringHead < size || early))
        {
            ringEnd = ringHead;
            wrapped = true;
            offset = 0;
        }
        else offset = ringHead;
        ringHead = offset + size;
        ringInFlight += size;
        RingHighWater = Math.Max(RingHighWater, ringHead);
        return offset;
    }

    private void RingFree(Item item)
    {
        ringInFlight -= item.Reserved;
        if (wrapped && item.RingOffset != ringTail)
        {
            ringTail = 0;
            wrapped = false;
        }
        ringTail = item.RingOffset + item.Reserved;
        if (wrapped && ringTail == ringEnd)
        {
            ringTail = 0;
            wrapped = false;
        }
        if (!wrapped && ringTail == ringHead) ringHead = ringTail = 0;
    }

    private void ReadLoop()
    {
        DirectoryHandle? folder = null;
        byte[]? folderPath = null;
        IncrementalHash? sha = null;
        try
        {
            while (true)
            {
                work.Wait();
                if (stopping) return;
                var item = items[(Interlocked.Increment(ref claimed) - 1) % items.Length];
                try
                {
                    Read(item, ref folder, ref folderPath, ref sha);
                }
                catch (Exception e)
                {
                    item.Handle?.Dispose();
                    item.Handle = null;
                    item.Failure = ExceptionDispatchInfo.Capture(e);
                }
                item.Done.Set();
            }
        }
        finally
        {
            folder?.Dispose();
            sha?.Dispose();
        }
    }

    /// <summary>
    /// The SHA-256 of a file's content, by the reader's own hash object: reused from file to file, it costs a small file
    /// a sixth less than a one-shot hash, which sets up and frees the library's context every time.
    /// </summary>
    private static byte[] Sha256(ref IncrementalHash? sha, ReadOnlySpan<byte> content)
    {
        sha ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(content);
        return sha.GetHashAndReset();
    }

    private void Read(Item item, ref DirectoryHandle? folder, ref byte[]? folderPath, ref IncrementalHash? sha)
    {
        var path = item.Entry.PathBytes;
        if (item.Entry.Stat.IsSymlink && rootPath == null)
        {
            item.LinkTarget = Posix.ReadLink(item.Entry.Path, out item.Errno);
            item.Outcome = item.LinkTarget == null ? Outcome.Vanished : Outcome.Symlink;
            return;
        }

        // The folder (beneath the root without following a link, or where there is no root as its path names it
        // now), kept open for the next files of the same folder; the file (or link) by its name beneath it, never
        // through a symlink (ELOOP).
        if (!item.Entry.Stat.IsSymlink) BeforeOpen?.Invoke(item.Entry.Path);
        var slash = path.AsSpan().LastIndexOf((byte)'/');
        var parent = slash <= 0 ? "/"u8 : path.AsSpan(0, slash);
        if (folder == null || !parent.SequenceEqual(folderPath))
        {
            folder?.Dispose();
            folderPath = parent.ToArray();
            folder = OpenFolder(folderPath, out var dirErrno);
            if (folder == null)
            {
                folderPath = null;
                Failed(item, dirErrno);
                return;
            }
        }
        if (item.Entry.Stat.IsSymlink)
        {
            item.LinkTarget = folder.ReadLink(path.AsSpan(slash + 1), out item.Errno);
            item.Outcome = item.LinkTarget == null ? Outcome.Vanished : Outcome.Symlink;
            return;
        }
        var handle = folder.OpenRead(path.AsSpan(slash + 1), out var errno);
        if (handle == null)
        {
            Failed(item, errno);
            return;
        }
        // A small file read whole first, then one fstat (instead of one before and one after): when it shows the file
        // the walk saw, unchanged, the entry is exactly what an fstat right after the open would have given.
        if (item.Reserved > 0 && AfterOpen == null && ReadAsWalked(item, handle, ref sha))
        {
            handle.Dispose();
            return;
        }
        // The header's facts come from the file as opened, not from the walk.
        if (Posix.FStat(handle, out _) is not { IsRegular: true } stat)
        {
            handle.Dispose();
            item.Outcome = Outcome.Vanished;
            return;
        }
        item.Stat = stat;
        AfterOpen?.Invoke(item.Entry.Path);
        if (stat.Size >= item.Reserved)
        {
            // Larger than the walk said (or not small): the producer streams it from the open file.
            item.Handle = handle;
            item.Outcome = Outcome.Streamed;
            return;
        }

        using (handle)
        {
            item.Outcome = Outcome.Whole;
            var buffer = ring.AsSpan(item.RingOffset, (int)stat.Size + 1);
            var size = (int)stat.Size;
            var read = 0;
            try
            {
                // Should the file grow after the read, the fstat below tells, just as after a probe.
                ReadUpTo(handle, buffer, size, ref read);
                item.Result = read < size ? FileAddResult.Shrank : read > size ? FileAddResult.Grew : FileAddResult.Complete;
                item.Length = Math.Min(read, size);
            }
            catch (IOException e)
            {
                item.Length = Math.Min(read, size);
                item.ReadError = ExceptionDispatchInfo.Capture(e);
                return;
            }
            var after = Posix.FStat(handle, out _);
            item.ChangedAfter = after is not { } a ||
                a.MtimeSeconds != stat.MtimeSeconds || a.MtimeNanos != stat.MtimeNanos || a.Size != stat.Size;
            if (item.Hash) item.Sha256 = Sha256(ref sha, buffer[..item.Length]);
        }
    }

    /// <summary>
    /// Reads a small file whole into its ring space and checks with one fstat that it is still the file the walk saw,
    /// unchanged: the same inode, type, owner, permissions, size, modification and change times (only the access time
    /// may differ), and exactly its walk size read. Then the entry takes those facts and true is returned. False when
    /// anything differs or the read failed: the file is then looked at again from an fstat of its own (nothing of this
    /// attempt is kept), so a file changed since the walk is archived as it is now, just as before.
    /// </summary>
    private bool ReadAsWalked(Item item, SafeFileHandle handle, ref IncrementalHash? sha)
    {
        var walked = item.Entry.Stat;
        var size = (int)walked.Size;
        var buffer = ring.AsSpan(item.RingOffset, item.Reserved);
        var read = 0;
        try
        {
            ReadUpTo(handle, buffer, size, ref read);
        }
        catch (IOException)
        {
            return false;
        }
        if (read != size || Posix.FStat(handle, out _) is not { } now || !Unchanged(walked, now)) return false;
        item.Stat = now;
        item.Outcome = Outcome.Whole;
        item.Result = FileAddResult.Complete;
        item.Length = size;
        if (item.Hash) item.Sha256 = Sha256(ref sha, buffer[..size]);
        return true;
    }

    private static bool Unchanged(in PosixStat walked, in PosixStat now) =>
        now.IsRegular && now.Inode == walked.Inode && now.Device == walked.Device && now.Mode == walked.Mode
        && now.Uid == walked.Uid && now.Gid == walked.Gid && now.Size == walked.Size && now.Links == walked.Links
        && now.MtimeSeconds == walked.MtimeSeconds && now.MtimeNanos == walked.MtimeNanos
        && now.CtimeSeconds == walked.CtimeSeconds && now.CtimeNanos == walked.CtimeNanos;

    /// <summary>
    /// An entry's folder: beneath the root without following a link below it when there is one (a folder that is
    /// now a link: ELOOP; a path outside the root: EXDEV), else by its path as it is now.
    /// </summary>
    private DirectoryHandle? OpenFolder(byte[] folderPath, out int errno)
    {
        if (rootPath == null) return DirectoryHandle.Open(PosixPath.Decode(folderPath), followLink: true, out errno);
        if (root == null)
        {
            errno = rootErrno;
            return null;
        }
        ReadOnlySpan<byte> relative;
        if (folderPath.AsSpan().SequenceEqual(rootPath) || (rootPath.Length == 0 && folderPath is [(byte)'/'])) relative = default;
        else if (folderPath.AsSpan().StartsWith(rootPath) && folderPath.Length > rootPath.Length + 1 && folderPath[rootPath.Length] == (byte)'/')
            relative = folderPath.AsSpan(rootPath.Length + 1);
        else
        {
            errno = 18; // EXDEV: not beneath the root
            return null;
        }
        return root.OpenBeneath(relative, out errno);
    }

    [DllImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static extern unsafe nint pread_native(int fd, byte* buffer, nint count, long offset);

    private const int Interrupted = 4; // EINTR

    /// <summary>pread(2) straight into the ring: no seek to learn whether the file can seek, as the runtime's does.</summary>
    /// <summary>
    /// Reads a file of <paramref name="size"/> bytes from its start into <paramref name="buffer"/> (at least size + 1
    /// long), up to one byte more than the size, so a file that kept going is seen (that byte is not stored and not
    /// hashed); a read that stops short of it reached the end: a regular file reads short only there.
    /// <paramref name="read"/> counts the bytes read so far, also when a read throws.
    /// </summary>
    private static void ReadUpTo(SafeFileHandle handle, Span<byte> buffer, int size, ref int read)
    {
        while (read <= size)
        {
            var n = PRead(handle, buffer[read..], read);
            if (n == 0) break;
            read += n;
            if (read == size) break;
        }
    }

    private static unsafe int PRead(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            while (true)
            {
                nint n;
                fixed (byte* b = buffer) n = pread_native(fd, b, buffer.Length, offset);
                if (n >= 0) return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Interrupted) throw new IOException(Posix.ErrorText(errno), errno);
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private static void Failed(Item item, int errno)
    {
        item.Errno = errno;
        // Gone, or replaced by a link or something else since the walk (O_NOFOLLOW refuses a link).
        item.Outcome = errno is Errno.NoEntry or Errno.NotDirectory or Errno.Loop ? Outcome.Vanished : Outcome.Unreadable;
    }

    public enum Outcome
    {
        /// <summary>A symlink whose target is in <see cref="Item.LinkTarget"/>.</summary>
        Symlink,
        /// <summary>Gone, replaced by something else than a regular file, or a link that is no longer one.</summary>
        Vanished,
        /// <summary>Could not be opened: <see cref="Item.Errno"/>.</summary>
        Unreadable,
        /// <summary>Read whole: <see cref="Item.Content"/>, <see cref="Item.Result"/>, <see cref="Item.ChangedAfter"/>.</summary>
        Whole,
        /// <summary>Open in <see cref="Item.Handle"/>, with its fstat in <see cref="Item.Stat"/>: the producer reads it.</summary>
        Streamed,
    }

    /// <summary>One entry on its way through the readers; reused once taken out.</summary>
    public sealed class Item(byte[] ring)
    {
        public WalkEntry Entry;
        public bool Hash;
        public Outcome Outcome;
        public int Errno;
        public string? LinkTarget;
        public PosixStat Stat;
        public SafeFileHandle? Handle;
        public FileAddResult Result;
        public bool ChangedAfter;
        public byte[]? Sha256;
        /// <summary>Reading threw after <see cref="Length"/> bytes: the entry is completed with zeros, then this is thrown.</summary>
        public ExceptionDispatchInfo? ReadError;
        internal ExceptionDispatchInfo? Failure;
        internal int RingOffset, Reserved, Length;

        /// <summary>The entry's name in the archive: its path's bytes without the leading '/' (no string is made of it).</summary>
        public ReadOnlySpan<byte> Name
        {
            get
            {
                var path = Entry.PathBytes.AsSpan();
                var start = 0;
                while (start < path.Length && path[start] == (byte)'/') start++;
                return path[start..];
            }
        }

        /// <summary>What was read of a <see cref="Outcome.Whole"/> file: valid until the next <see cref="Enqueue"/>.</summary>
        public ReadOnlySpan<byte> Content => ring.AsSpan(RingOffset, Length);
        internal readonly ManualResetEventSlim Done = new(false);

        internal void Reset()
        {
            Errno = 0;
            LinkTarget = null;
            Stat = default;
            Handle = null;
            Result = FileAddResult.Complete;
            ChangedAfter = false;
            Sha256 = null;
            ReadError = null;
            Failure = null;
            RingOffset = Reserved = Length = 0;
            Done.Reset();
        }
    }
}
