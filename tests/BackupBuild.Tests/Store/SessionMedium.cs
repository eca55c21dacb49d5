using BackupBuild.Tasks.Store.Iso;

namespace BackupBuild.Tests.Store;

/// <summary>Writes image files session by session, the way Store does, for tests of the layout itself.</summary>
internal static class SessionMedium
{
    public static readonly DateTimeOffset Created = new(2026, 11, 23, 1, 0, 0, TimeSpan.Zero);

    public static void New(string image, string label, params (string IsoPath, string Source)[] days)
    {
        var builder = new IsoImageBuilder(label) { CreationTime = Created, SessionStart = IsoMedium.HeadBlocks };
        foreach (var (path, source) in days) builder.AddDirectory(path, source);
        using var stream = File.Create(image);
        IsoMedium.WriteNew(stream, builder, null, default);
    }

    /// <summary>Appends a session holding everything before plus <paramref name="days"/> (replacing a day already there).</summary>
    public static void Append(string image, string label, CancellationToken cancel, IProgress<long>? progress, params (string IsoPath, string Source)[] days)
    {
        using var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        var state = IsoMedium.Inspect(stream);
        var builder = new IsoImageBuilder(label) { CreationTime = Created.AddDays(1), SessionStart = state.NextSessionStart };
        builder.Import(IsoMedium.ReadTree(stream, state.Head!), image);
        foreach (var (path, source) in days)
        {
            builder.Remove(path);
            builder.AddDirectory(path, source);
        }
        IsoMedium.Append(stream, builder, progress, cancel);
    }

    public static void Append(string image, string label, params (string IsoPath, string Source)[] days) =>
        Append(image, label, default, null, days);

    public static IsoMediumState Inspect(string image)
    {
        using var stream = File.OpenRead(image);
        return IsoMedium.Inspect(stream);
    }
}
