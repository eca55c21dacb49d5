namespace BackupBuild.Tasks.Store.Iso;

/// <summary>One session on a medium: its first block and its length in blocks.</summary>
public sealed record IsoSession(uint Start, uint Blocks, string VolumeId);

/// <summary>What is on a medium: nothing (blank), or a volume whose newest tree the head describes, and its sessions.</summary>
public sealed record IsoMediumState(IsoVolume? Head, IReadOnlyList<IsoSession> Sessions, uint NextSessionStart)
{
    public bool IsBlank => Head == null;
}

/// <summary>
/// Sessions on an overwritable medium, an image file here, laid out as growisofs and libisoburn (xorriso) lay
/// them out on a DVD+RW or a file: blocks 0–31 are the head, whose descriptors at block 16 are a copy of the
/// newest session's with the volume size counting from block 0; each session starts on a 32-block boundary
/// with its own system area and descriptors (volume size: its own blocks), the first one at block 32.
/// A reader that starts at block 16 (the kernel, isoinfo, bsdtar) sees the newest session's tree, which holds
/// every earlier file; xorriso also finds each session by following the chain of session descriptors.
/// </summary>
public static class IsoMedium
{
    public const uint Alignment = 32;
    public const uint HeadBlocks = 32;

    /// <summary>Reads the head and follows the chain of sessions. An image without a chain is one session at block 0.</summary>
    public static IsoMediumState Inspect(Stream medium)
    {
        var head = medium.Length >= (IsoLayout.SystemAreaBlocks + 2) * IsoBytes.BlockSize ? IsoVolume.TryRead(medium, IsoLayout.SystemAreaBlocks) : null;
        if (head == null) return new IsoMediumState(null, [], HeadBlocks);
        if (medium.Length < head.VolumeBlocks * (long)IsoBytes.BlockSize)
            throw new InvalidDataException($"The image is {medium.Length} bytes long but its volume descriptor says {head.VolumeBlocks} blocks: it is truncated.");

        var sessions = new List<IsoSession>();
        for (var start = HeadBlocks; start < head.VolumeBlocks;)
        {
            var own = IsoVolume.TryRead(medium, start + IsoLayout.SystemAreaBlocks);
            if (own == null || own.VolumeBlocks == 0 || start + (long)own.VolumeBlocks > head.VolumeBlocks) break;
            sessions.Add(new IsoSession(start, own.VolumeBlocks, own.VolumeId));
            start = Align(start + own.VolumeBlocks);
        }
        if (sessions.Count == 0 || sessions[^1].Start + sessions[^1].Blocks != head.VolumeBlocks)
            sessions = [new IsoSession(0, head.VolumeBlocks, head.VolumeId)]; // written in one piece (mkisofs, older BackupBuild)
        return new IsoMediumState(head, sessions, Math.Max(HeadBlocks, Align(head.VolumeBlocks)));
    }

    /// <summary>The newest tree, with every file pointing at its data on the medium.</summary>
    internal static IsoEntry ReadTree(Stream medium, IsoVolume head) => IsoTreeReader.Read(medium, head);

    /// <summary>Writes a fresh medium from position 0: the head, then the builder's session at block 32.</summary>
    public static void WriteNew(Stream medium, IsoImageBuilder session, IProgress<long>? progress, CancellationToken cancel)
    {
        if (session.SessionStart != HeadBlocks) throw new ArgumentException($"The first session starts at block {HeadBlocks}.", nameof(session));
        var head = new byte[HeadBlocks * IsoBytes.BlockSize];
        session.HeadDescriptors().CopyTo(head, IsoLayout.SystemAreaBlocks * IsoBytes.BlockSize);
        medium.Write(head);
        session.WriteTo(medium, progress, cancel);
    }

    /// <summary>
    /// Appends the builder's session at the medium's next session start, makes it durable, and only then
    /// rewrites the head (two blocks in one write) so the new tree becomes the one readers see. Killed before
    /// that, the medium still shows the tree it showed before; what was written after its end is ignored and
    /// overwritten by the next append.
    /// </summary>
    public static void Append(FileStream medium, IsoImageBuilder session, IProgress<long>? progress, CancellationToken cancel)
    {
        var state = Inspect(medium);
        if (state.IsBlank || session.SessionStart != state.NextSessionStart)
            throw new ArgumentException($"The session must start at block {state.NextSessionStart} of a written medium.", nameof(session));
        var start = session.SessionStart * (long)IsoBytes.BlockSize;
        medium.SetLength(start);
        medium.Position = start;
        session.WriteTo(medium, progress, cancel);
        medium.Flush(flushToDisk: true);

        cancel.ThrowIfCancellationRequested();
        medium.Position = IsoLayout.SystemAreaBlocks * (long)IsoBytes.BlockSize;
        medium.Write(session.HeadDescriptors());
        medium.Flush(flushToDisk: true);
    }

    public static uint Align(long block) => (uint)((block + Alignment - 1) / Alignment * Alignment);
}
