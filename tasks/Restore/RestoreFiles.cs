using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// The Restore action: a peer's file or folder as of a day, from the archives on whichever media hold them,
/// into a destination folder, with modes, mtimes, symlinks and (as root) owners. Nothing is written outside
/// the destination; existing files are kept unless Overwrite.
/// </summary>
public sealed class RestoreFiles : StoredDataTask
{
    public string? Peer { get; set; }
    // RestoreSettings (StoredDataTask): RestorePath, an absolute path on the peer, a file or a folder ("/" is everything);
    // RestoreOverwrite; RestoreDryRun; RestorePartial: when the chain has a hole (files the manifests list that no
    // reachable archive holds, days stored nowhere), restore what exists anyway, and still fail naming what is missing.
    /// <summary>Restore as of this day (yyyy-MM-dd); empty: the newest stored day.</summary>
    public string? AsOf { get; set; }
    public string? Destination { get; set; }
    /// <summary>
    /// A module output's file name, or a pattern ('*', '?'): restores what Collect's modules wrote (database dumps,
    /// bundles, listings) as stored, into Destination/&lt;name&gt;, instead of RestorePath's files. Never applied to anything.
    /// </summary>
    public string? Output { get; set; }

    /// <summary>How many missing files a hole's message names; the rest are counted.</summary>
    internal const int MissingNamed = 10;

    /// <summary>
    /// How many written files a restore names one message each ("Wrote …", normal verbosity); the rest are one line that
    /// counts them. Every file is still a <see cref="Restored"/> item (RestoredFile: listed at -v:diag and in the binary
    /// log). A message per file for a whole-tree restore cost about 0.5 s of CPU per 50,000 files in MSBuild's logging.
    /// </summary>
    internal const int WroteNamed = 100;

    /// <summary>What was (or, in a dry run, would be) written: the path under Destination, with Source, Day, Size, Kind, Archive.</summary>
    [Output] public ITaskItem[] Restored { get; private set; } = Array.Empty<ITaskItem>();

    /// <summary>Tests: called for each member between finding its place and writing it (the window a swapped folder aims at).</summary>
    internal Action<string>? BeforeWrite { get; set; }

    private protected override bool Decrypts => true;

    protected override bool Run()
    {
        var problems = new Problems();
        var media = Media(problems);
        var destination = Values.AbsolutePath(Destination, "RestoreTo", problems);
        var settings = Settings.RestoreSettings.Parse(RestoreSettings, problems);
        if (string.IsNullOrWhiteSpace(Peer)) problems.Error("Restore.NoPeer");
        var asOf = Date(AsOf, "RestoreDate", problems);
        problems.LogTo(Log);
        if (problems.HasErrors || settings == null) return false;
        var (path, overwrite, dryRun, partial) = (settings.Path, settings.Overwrite, settings.DryRun, settings.Partial);
        Decryption = settings.Gpg;

        using var catalog = Catalog(media!);
        if (catalog == null) return false;
        var peer = Peer!.Trim();
        var days = catalog.Days(peer).ToList();
        if (days.Count == 0)
        {
            Log.LogErrorWithCodeFromResources("Restore.UnknownPeer", peer, string.Join(", ", catalog.Media), string.Join(", ", catalog.Peers));
            return false;
        }
        var day = asOf ?? days[^1];
        if (!string.IsNullOrWhiteSpace(Output)) return RestoreOutputs(catalog, peer, day, destination!, overwrite, dryRun);
        var sources = RestoreTimeline.AsOf(catalog, peer, day, (n, a) => Log.LogWarningWithCodeFromResources(n, a));

        // Before anything is written: does every file the manifests list as present have an archive that holds it?
        var hole = Hole(catalog, sources, path, RestoreTimeline.Missed(catalog, peer, day).Append(RestoreTimeline.NotStored(catalog, peer, day)));
        string[]? holeArgs = null;
        if (hole != null)
        {
            holeArgs = new object[] { peer, path, Day(day), hole.Value.Missing.Count,
                    hole.Value.Missing.Count == 0 ? "none" : string.Join(", ", hole.Value.Missing.Take(MissingNamed).Select(m => PosixPath.Display("/" + m)))
                        + (hole.Value.Missing.Count > MissingNamed ? $" and {hole.Value.Missing.Count - MissingNamed} more" : ""),
                    hole.Value.Gaps.Count == 0 ? "none" : string.Join("; ", hole.Value.Gaps),
                    hole.Value.Days.Count == 0 ? "none" : string.Join(", ", hole.Value.Days.Select(Day)),
                    string.Join(", ", catalog.Media) }.Select(a => a.ToString()!).ToArray();
            if (!partial)
            {
                Log.LogErrorWithCodeFromResources("Restore.Hole", holeArgs);
                return false;
            }
        }

        if (!dryRun) Directory.CreateDirectory(destination!);
        SafeExtractor extractor;
        try
        {
            extractor = new SafeExtractor(destination!, overwrite, dryRun);
        }
        catch (ExtractFailure e)
        {
            Log.LogErrorWithCodeFromResources("Restore.WriteFailed", destination!, e.Message);
            return false;
        }
        using var _ = extractor;
        // Small files are written by writer threads, one per folder, while this one reads on (ParallelWrites).
        using var writes = dryRun ? null : new ParallelWrites(extractor, ParallelWrites.DefaultWorkers);
        // The disk writes what is restored while the restore goes on; the syncfs before success waits for the rest.
        using var flush = extractor.StartEarlyFlush();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var restored = new List<ITaskItem>();
        var files = new Dictionary<string, ITaskItem?>(StringComparer.Ordinal); // regular files restored or found restored, by member name
        // Member names met in the archives, when the hole check took what they hold from the manifests' member lists:
        // what those lists promised and no archive held is named at the end (BKP4201), never passed over.
        var met = _listedSources.Count > 0 ? new HashSet<string>(StringComparer.Ordinal) : null;
        var unreadable = false;
        int refused = 0, kept = 0, identical = 0, wrote = 0;
        long bytes = 0;
        foreach (var source in sources)
        foreach (var archive in source.NewestFirst)
        {
            Cancellation.ThrowIfCancellationRequested();
            for (var attempt = 0; attempt < archive.Copies.Count; attempt++)
            {
                var copy = archive.Copies[attempt];
                var dayText = Day(archive.Day); // once per copy, not per member
                var writtenHere = new Dictionary<string, TarMemberKind>(StringComparer.Ordinal); // restored (or already in place) from this copy
                var claimed = new List<string>();   // paths this copy decided (restored, refused or kept)
                var created = new List<string>();   // paths this copy started to write
                var itemsHere = new List<ITaskItem>();
                var itemByRel = new Dictionary<string, ITaskItem>(StringComparer.Ordinal);
                int refusedHere = 0, keptHere = 0, identicalHere = 0;
                long bytesHere = 0;
                var pending = new HashSet<string>(StringComparer.Ordinal); // handed to the writers, not yet reported back

                // A member restored (or listed in a dry run): counted, an item, a message. For a handed-over write, once it is done.
                void Written(string rel, TarMember m)
                {
                    writtenHere[rel] = m.Kind == TarMemberKind.Symlink ? TarMemberKind.Symlink : TarMemberKind.File;
                    bytesHere += m.Size;
                    flush?.Add(m.Size);
                    // Items and messages name a path that is not UTF-8 with its bytes shown as \xNN.
                    var target = PosixPath.Display(extractor.Target(rel));
                    var item = new TaskItem(target);
                    item.SetMetadata("Source", "/" + PosixPath.Display(rel));
                    item.SetMetadata("Day", dayText);
                    item.SetMetadata("Size", m.Size.ToString());
                    item.SetMetadata("Kind", m.Kind.ToString().ToLowerInvariant());
                    item.SetMetadata("Archive", copy.Location);
                    itemsHere.Add(item);
                    itemByRel[rel] = item;
                    if (dryRun) Progress("Restore.WouldWrite", target, m.Size, dayText, copy.Location);
                    else if (wrote++ < WroteNamed) Detail("Restore.Wrote", target, m.Size, dayText, copy.Location);
                }

                // The writers' results, logged here as a write on this thread would have been.
                void Collected(bool wait)
                {
                    if (writes == null) return;
                    if (wait) writes.Drain();
                    foreach (var (rel, m, error) in writes.TakeDone())
                    {
                        pending.Remove(rel);
                        if (error == null) Written(rel, m);
                        else if (error is NameTaken taken) Taken(rel, m, taken);
                        else if (error is ExtractFailure { MemberSpecific: true } member)
                        {
                            refusedHere++;
                            Log.LogWarningWithCodeFromResources("Restore.MemberFailed", PosixPath.Display(m.Name), copy.Location, member.Message);
                        }
                        else if (error is ExtractFailure failure)
                            Log.LogErrorWithCodeFromResources("Restore.WriteFailed", PosixPath.Display(extractor.Target(rel)), failure.Message);
                        else System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
                    }
                }

                // The name was taken when the finished file was to be renamed to it (a folder this run made, not looked into
                // first): kept or in the way, as Prepare would have said; nothing of this member was written.
                void Taken(string rel, TarMember m, NameTaken taken)
                {
                    created.Remove(rel);
                    if (taken.IsFolder)
                    {
                        refusedHere++;
                        Log.LogWarningWithCodeFromResources("Restore.InTheWay", PosixPath.Display(m.Name), copy.Location, PosixPath.Display(taken.Path));
                    }
                    else
                    {
                        keptHere++;
                        Log.LogWarningWithCodeFromResources("Restore.Exists", PosixPath.Display(taken.Path));
                    }
                }

                // A folder on the way of a member that is still being written under its own name: that write goes first,
                // so the member meets what a restore in archive order would (a file in the way).
                bool Behind(string rel)
                {
                    if (pending.Count == 0) return false;
                    for (var i = rel.IndexOf('/'); i > 0; i = rel.IndexOf('/', i + 1))
                        if (pending.Contains(rel[..i])) return true;
                    return false;
                }

                try
                {
                    using var raw = ArchiveStreams.Checked(copy.Open(), archive.Sha256);
                    // Reading, checking and decompressing on one thread, writing on this one.
                    using var tar = ArchiveStreams.ReadAhead(ArchiveStreams.OpenTar(raw));
                    var reader = new TarReader(tar);
                    while (reader.Next() is { } m)
                    {
                        Cancellation.ThrowIfCancellationRequested();
                        if (m.Kind is TarMemberKind.Directory or TarMemberKind.Other) continue;
                        var rel = SafeExtractor.Relative(m.Name);
                        if (rel == null)
                        {
                            met?.Add(m.Name.Trim('/')); // held, as the hole check counts it, and refused
                            if (RestoreTimeline.Selected(m.Name.TrimStart('/'), path)) refusedHere++;
                            Log.LogWarningWithCodeFromResources("Restore.UnsafeName", PosixPath.Display(m.Name), copy.Location);
                            continue;
                        }
                        if (!RestoreTimeline.Selected(rel, path)) continue;
                        met?.Add(rel);
                        if (source.Present != null && !source.Present.Contains(rel)) continue;
                        if (!done.Add(rel)) continue;
                        claimed.Add(rel);

                        // Odd members are a warning naming them, before anything is touched; the rest of the archive is restored.
                        if (SafeExtractor.TooLongComponent(rel) is { } longPart)
                        {
                            refusedHere++;
                            Log.LogWarningWithCodeFromResources("Restore.NameTooLong", PosixPath.Display(m.Name), copy.Location,
                                PosixPath.Encode(longPart).Length, SafeExtractor.NameMax);
                            continue;
                        }
                        string? linkRel = null;
                        if (m.Kind == TarMemberKind.HardLink)
                        {
                            Collected(wait: true); // the file it copies is written and reported first
                            linkRel = SafeExtractor.Relative(m.LinkName);
                            if (linkRel == null || !writtenHere.TryGetValue(linkRel, out var linkedKind))
                            {
                                refusedHere++;
                                Log.LogWarningWithCodeFromResources("Restore.HardLinkTarget", PosixPath.Display(m.Name), PosixPath.Display(m.LinkName), copy.Location);
                                continue;
                            }
                            if (linkedKind != TarMemberKind.File)
                            {
                                refusedHere++;
                                Log.LogWarningWithCodeFromResources("Restore.HardLinkToSymlink", PosixPath.Display(m.Name), copy.Location, PosixPath.Display(m.LinkName));
                                continue;
                            }
                        }

                        SafeExtractor.Place? place = null;
                        var queued = false;
                        Collected(wait: Behind(rel));
                        try
                        {
                            var outcome = extractor.Prepare(rel, out place, out var blocker);
                            BeforeWrite?.Invoke(rel);
                            foreach (var leftover in extractor.RemovedLeftovers) Detail("Restore.LeftoverRemoved", PosixPath.Display(leftover));
                            extractor.RemovedLeftovers.Clear();
                            switch (outcome)
                            {
                                case SafeExtractor.Outcome.ThroughSymlink:
                                    refusedHere++;
                                    Log.LogWarningWithCodeFromResources("Restore.ThroughSymlink", PosixPath.Display(m.Name), copy.Location, PosixPath.Display(blocker));
                                    continue;
                                case SafeExtractor.Outcome.InTheWay:
                                    refusedHere++;
                                    Log.LogWarningWithCodeFromResources("Restore.InTheWay", PosixPath.Display(m.Name), copy.Location, PosixPath.Display(blocker));
                                    continue;
                                case SafeExtractor.Outcome.Exists:
                                    // What an interrupted run (or an earlier restore) finished is the member itself: not a conflict.
                                    var same = m.Kind == TarMemberKind.HardLink
                                        ? extractor.SameAsCopy(place!, linkRel!, m)
                                        : extractor.SameAs(place!, m, m.Kind == TarMemberKind.File ? reader.Content : null);
                                    if (same)
                                    {
                                        identicalHere++;
                                        writtenHere[rel] = m.Kind == TarMemberKind.Symlink ? TarMemberKind.Symlink : TarMemberKind.File;
                                        Detail("Restore.Identical", PosixPath.Display(blocker));
                                        continue;
                                    }
                                    keptHere++;
                                    Log.LogWarningWithCodeFromResources("Restore.Exists", PosixPath.Display(blocker));
                                    continue;
                            }
                            if (!dryRun)
                            {
                                created.Add(rel);
                                if (m.Kind == TarMemberKind.HardLink) extractor.WriteCopy(place!, linkRel!, m);
                                else if (m.Kind == TarMemberKind.Symlink) extractor.WriteSymlink(place!, m);
                                else if (writes != null && m.Size <= ParallelWrites.MaxQueued)
                                {
                                    queued = true; // the writer owns the place from here
                                    pending.Add(rel);
                                    writes.Submit(place!, m, reader.Content, rel);
                                }
                                else extractor.WriteFile(place!, m, reader.Content);
                            }
                        }
                        catch (NameTaken e)
                        {
                            Taken(rel, m, e);
                            continue;
                        }
                        catch (ExtractFailure e) when (e.MemberSpecific)
                        {
                            refusedHere++;
                            Log.LogWarningWithCodeFromResources("Restore.MemberFailed", PosixPath.Display(m.Name), copy.Location, e.Message);
                            continue;
                        }
                        catch (ExtractFailure e)
                        {
                            Log.LogErrorWithCodeFromResources("Restore.WriteFailed", PosixPath.Display(extractor.Target(rel)), e.Message);
                            continue;
                        }
                        finally
                        {
                            if (!queued) place?.Dispose();
                        }
                        if (!queued) Written(rel, m);
                    }
                    Collected(wait: true);
                    raw.Finish(tar);
                }
                catch (Exception e) when (StoredCatalog.IsReadFailure(e))
                {
                    // Every write handed over is finished before anything is taken back (their results do not count).
                    writes?.Drain();
                    writes?.TakeDone();
                    // What this copy wrote may hold damaged data read before the damage showed (a gzip member's
                    // checksum is checked at its end): take it all back and read the archive from the next copy.
                    foreach (var rel in created)
                        if (!dryRun) RemoveAgain(extractor, rel);
                    foreach (var rel in claimed) done.Remove(rel);
                    if (attempt + 1 < archive.Copies.Count)
                    {
                        Log.LogWarningWithCodeFromResources("Restore.NextCopy", copy.Location, e.Message, archive.Copies[attempt + 1].Location);
                        continue;
                    }
                    Log.LogErrorWithCodeFromResources("Restore.ArchiveUnreadable", copy.Location, e.Message);
                    unreadable = true;
                    break;
                }
                restored.AddRange(itemsHere);
                foreach (var (rel, kind) in writtenHere)
                    if (kind == TarMemberKind.File) files[rel] = itemByRel.GetValueOrDefault(rel);
                refused += refusedHere;
                kept += keptHere;
                identical += identicalHere;
                bytes += bytesHere;
                break;
            }
        }
        if (!dryRun) Reshape(extractor, sources, path, files);
        if (met != null && !unreadable) Unmet(sources, path, met, hole?.Missing, peer, day);
        // Nothing is reported restored before it is on the disk: one syncfs for everything written (no fsync per file).
        if (!dryRun && !extractor.Sync(out var syncError))
            Log.LogErrorWithCodeFromResources("Restore.SyncFailed", destination!, syncError);
        Restored = restored.ToArray();
        if (wrote > WroteNamed) Detail("Restore.WroteMore", wrote - WroteNamed, WroteNamed);
        if (restored.Count == 0 && refused == 0 && kept == 0 && identical == 0)
            Log.LogWarningWithCodeFromResources("Restore.NothingMatched", peer, path, Day(day));
        Progress(dryRun ? "Restore.DrySummary" : "Restore.Summary", restored.Count, Units.Bytes(bytes), peer, path, Day(day),
            destination!, refused, kept, identical);
        if (holeArgs != null) Log.LogErrorWithCodeFromResources("Restore.PartialHole", holeArgs);
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// Module outputs matching <see cref="Output"/>: for each name, the copy of the newest stored day up to
    /// <paramref name="day"/> that holds it (dumps are full every day), written as stored (compressed as the module wrote
    /// it) under its file name in the destination, owner-only, by the same safe writer as files.
    /// </summary>
    private bool RestoreOutputs(StoredCatalog catalog, string peer, DateTime day, string destination, bool overwrite, bool dryRun)
    {
        var patterns = RestoreTimeline.Given(Output!.Trim()).Select(FindFiles.Glob).ToList();
        var chosen = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var d in catalog.Days(peer).Where(d => d <= day))
        foreach (var name in catalog.ModuleOutputs(d, peer).Where(n => patterns.Any(r => r.IsMatch(n))))
            chosen[name] = d;
        if (chosen.Count == 0)
        {
            Log.LogErrorWithCodeFromResources("Restore.NoOutput", peer, Output!.Trim(), Day(day), string.Join(", ", catalog.Media));
            return false;
        }
        if (!dryRun) Directory.CreateDirectory(destination);
        SafeExtractor extractor;
        try
        {
            extractor = new SafeExtractor(destination, overwrite, dryRun);
        }
        catch (ExtractFailure e)
        {
            Log.LogErrorWithCodeFromResources("Restore.WriteFailed", destination, e.Message);
            return false;
        }
        using var _ = extractor;
        var restored = new List<ITaskItem>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (name, stored) in chosen.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            Cancellation.ThrowIfCancellationRequested();
            var copies = catalog.Copies(stored, peer, name);
            string? failure = null;
            foreach (var copy in copies)
            {
                SafeExtractor.Place? place = null;
                try
                {
                    var outcome = extractor.Prepare(name, out place, out var blocker);
                    if (outcome == SafeExtractor.Outcome.Exists)
                    {
                        Log.LogWarningWithCodeFromResources("Restore.Exists", PosixPath.Display(blocker));
                        failure = null;
                        break;
                    }
                    if (outcome != SafeExtractor.Outcome.Written)
                    {
                        Log.LogWarningWithCodeFromResources("Restore.InTheWay", name, copy.Location, PosixPath.Display(blocker));
                        break;
                    }
                    var target = PosixPath.Display(extractor.Target(name));
                    if (dryRun) Progress("Restore.WouldWrite", target, copy.Size, Day(stored), copy.Location);
                    else
                    {
                        using var content = copy.Open();
                        // Owner-only (a dump holds the database); as root owned by root.
                        extractor.WriteFile(place!, new TarMember(name, TarMemberKind.File, copy.Size, 0x180, 0, 0, "", "", now, ""), content);
                        Progress("Restore.OutputWrote", target, name, peer, Day(stored), copy.Size, copy.Location);
                    }
                    var item = new TaskItem(target);
                    item.SetMetadata("Source", name);
                    item.SetMetadata("Day", Day(stored));
                    item.SetMetadata("Size", copy.Size.ToString());
                    item.SetMetadata("Kind", "module output");
                    item.SetMetadata("Archive", copy.Location);
                    restored.Add(item);
                    failure = null;
                    break;
                }
                catch (ExtractFailure e)
                {
                    Log.LogErrorWithCodeFromResources("Restore.WriteFailed", PosixPath.Display(extractor.Target(name)), e.Message);
                    failure = null;
                    break;
                }
                catch (Exception e) when (StoredCatalog.IsReadFailure(e))
                {
                    failure = (failure == null ? "" : failure + "; ") + copy.Location + ": " + Sentences.Of(e);
                }
                finally
                {
                    place?.Dispose();
                }
            }
            if (failure != null) Log.LogErrorWithCodeFromResources("Restore.OutputUnreadable", name, failure);
        }
        Restored = restored.ToArray();
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// What the archives do not hold, from the newest manifest of each source: names that were hard links of one file
    /// on the peer become links again where both were restored (and are still the same file), then each folder under
    /// the restored path gets its mode, owner (as root) and time, deepest first, after everything in it was written.
    /// </summary>
    private void Reshape(SafeExtractor extractor, List<RestoreTimeline.Source> sources, string path, Dictionary<string, ITaskItem?> files)
    {
        int links = 0, folders = 0;
        foreach (var group in sources.Select(s => s.Listing).Where(l => l?.Links != null).SelectMany(l => l!.Links!))
        {
            var names = group.All().Where(files.ContainsKey).ToList();
            for (var i = 1; i < names.Count; i++)
            {
                try
                {
                    switch (extractor.Link(names[0], names[i]))
                    {
                        case SafeExtractor.LinkOutcome.Linked:
                            links++;
                            Detail("Restore.Linked", PosixPath.Display(extractor.Target(names[i])), PosixPath.Display(extractor.Target(names[0])));
                            break;
                        case SafeExtractor.LinkOutcome.AlreadyLinked:
                            links++;
                            break;
                        case SafeExtractor.LinkOutcome.Differs:
                            Log.LogWarningWithCodeFromResources("Restore.LinkDiffers", PosixPath.Display(extractor.Target(names[i])),
                                PosixPath.Display(extractor.Target(names[0])));
                            continue;
                        default:
                            continue;
                    }
                    if (files[names[i]] is { } item)
                    {
                        item.SetMetadata("Kind", "hardlink");
                        item.SetMetadata("LinkedTo", PosixPath.Display(extractor.Target(names[0])));
                    }
                }
                catch (ExtractFailure e)
                {
                    Log.LogWarningWithCodeFromResources("Restore.LinkFailed", PosixPath.Display(extractor.Target(names[i])),
                        PosixPath.Display(extractor.Target(names[0])), e.Message);
                }
            }
        }
        var wanted = new Dictionary<string, CollectManifestFolder>(StringComparer.Ordinal);
        foreach (var folder in sources.Select(s => s.Listing).Where(l => l?.Folders != null).SelectMany(l => l!.Folders!))
        {
            var rel = SafeExtractor.Relative(folder.Name());
            if (rel != null && RestoreTimeline.Selected(rel, path)) wanted[rel] = folder;
        }
        foreach (var (rel, folder) in wanted.OrderByDescending(f => f.Key.Count(c => c == '/')).ThenBy(f => f.Key, StringComparer.Ordinal))
        {
            try
            {
                if (extractor.SetFolder(rel, folder.Mode, folder.Uid, folder.Gid, folder.Mtime)) folders++;
            }
            catch (ExtractFailure e)
            {
                Log.LogWarningWithCodeFromResources("Restore.FolderFailed", PosixPath.Display(extractor.Target(rel)), e.Message);
            }
        }
        if (links > 0 || folders > 0) Detail("Restore.Reshaped", links, folders);
    }

    /// <summary>
    /// The hole in what a restore needs, or null: the files of <paramref name="path"/> the newest manifests list as
    /// present that no archive of the chain holds (read from the media: member names only; an archive no copy of
    /// which reads counts as missing), sorted, and the gaps of the chains that matter. Sources without a manifest
    /// (Cedar Backup peers) cannot be judged and are not.
    /// </summary>
    private (List<string> Missing, List<string> Gaps, List<DateTime> Days)? Hole(StoredCatalog catalog, List<RestoreTimeline.Source> sources,
        string path, IEnumerable<RestoreTimeline.ChainGap?> dayGaps)
    {
        var missing = new List<string>();
        var gaps = new List<RestoreTimeline.ChainGap>();
        gaps.AddRange(dayGaps.OfType<RestoreTimeline.ChainGap>());
        var days = new SortedSet<DateTime>();
        foreach (var source in sources)
        {
            if (source.Present == null) continue;
            var needed = source.Present.Where(p => RestoreTimeline.Selected(p, path)).ToHashSet(StringComparer.Ordinal);
            if (needed.Count == 0) continue;
            if (source.Gaps != null) gaps.AddRange(source.Gaps);
            days.UnionWith(source.NewestFirst.Select(a => a.Day));
            foreach (var archive in source.NewestFirst)
            {
                if (needed.Count == 0) break;
                // What the archive holds, from its day's manifest when Collect listed it there: the archive is read once, to restore.
                if (Listed(catalog, archive) is { } listed)
                {
                    _listedSources.Add(source);
                    needed.ExceptWith(listed.Select(m => m.Name));
                    continue;
                }
                string? failure = null;
                foreach (var copy in archive.Copies)
                {
                    Cancellation.ThrowIfCancellationRequested();
                    var found = new List<string>();
                    try
                    {
                        using var raw = ArchiveStreams.Checked(copy.Open(), archive.Sha256);
                        using var tar = ArchiveStreams.OpenTar(raw);
                        var reader = new TarReader(tar);
                        while (reader.Next() is { } m) found.Add(SafeExtractor.Relative(m.Name) ?? m.Name.Trim('/'));
                        raw.Finish(tar);
                    }
                    catch (Exception e) when (StoredCatalog.IsReadFailure(e))
                    {
                        failure = $"{copy.Location}: {Sentences.Of(e)}";
                        continue;
                    }
                    failure = null;
                    needed.ExceptWith(found);
                    break;
                }
                if (failure != null)
                    gaps.Add(new RestoreTimeline.ChainGap(archive.Day, Format("Restore.GapUnreadable", Day(archive.Day), archive.Name, failure)));
            }
            missing.AddRange(needed);
        }
        if (missing.Count == 0 && gaps.Count == 0) return null;
        missing.Sort(StringComparer.Ordinal);
        return (missing, gaps.OrderBy(g => g.Day).Select(g => g.Text).Distinct().ToList(), days.ToList());
    }

    private readonly HashSet<RestoreTimeline.Source> _listedSources = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// After the extraction, for the sources whose hole check trusted the manifests' member lists: the files the newest
    /// manifest lists under the path that no archive held after all (and that the hole check did not already name) are
    /// error BKP4201, with the archives whose lists promised them.
    /// </summary>
    private void Unmet(List<RestoreTimeline.Source> sources, string path, HashSet<string> met, List<string>? known, string peer, DateTime day)
    {
        var missing = new List<string>();
        var archives = new List<string>();
        foreach (var source in sources.Where(_listedSources.Contains))
        {
            var before = missing.Count;
            missing.AddRange(source.Present!.Where(p => RestoreTimeline.Selected(p, path) && !met.Contains(p) && (known == null || !known.Contains(p))));
            if (missing.Count > before) archives.AddRange(source.NewestFirst.Select(a => a.Name + " of " + Day(a.Day)));
        }
        if (missing.Count == 0) return;
        missing.Sort(StringComparer.Ordinal);
        Log.LogErrorWithCodeFromResources("Restore.MembersMissing", peer, path, Day(day), missing.Count, string.Join(", ", archives.Distinct()),
            string.Join(", ", missing.Take(MissingNamed).Select(m => PosixPath.Display("/" + m)))
                + (missing.Count > MissingNamed ? $" and {missing.Count - MissingNamed} more" : ""));
    }

    private void RemoveAgain(SafeExtractor extractor, string rel)
    {
        try
        {
            extractor.Remove(rel);
        }
        catch (ExtractFailure e)
        {
            Log.LogErrorWithCodeFromResources("Restore.WriteFailed", PosixPath.Display(extractor.Target(rel)), e.Message);
        }
    }
}
