using BackupBuild.Tasks.Store.Iso;
using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Store;

/// <summary>Two days of odd source trees written once into one image that several tests read.</summary>
public sealed class IsoImageFixture : IDisposable
{
    public static readonly DateTimeOffset Created = new(2026, 11, 21, 22, 30, 0, TimeSpan.FromHours(1));
    public const string VolumeId = "CEDAR BACKUP 21-NOV-2026";

    private readonly TempDir temp = new();

    public IsoImageFixture()
    {
        Day1 = temp.Dir("source/day1");
        Day2 = temp.Dir("source/day2");
        OddTree.CreateDay1(Day1);
        OddTree.CreateDay2(Day2);
        Image = temp["out/backup.iso"];
        Directory.CreateDirectory(Path.GetDirectoryName(Image)!);

        Builder = New();
        ExpectedSize = Builder.ImageSize;
        var reports = new List<long>();
        using (var stream = File.Create(Image)) Builder.WriteTo(stream, new SyncProgress(reports.Add));
        Progress = reports;
    }

    public string Day1 { get; }
    public string Day2 { get; }
    public string Image { get; }
    public IsoImageBuilder Builder { get; }
    public long ExpectedSize { get; }
    public IReadOnlyList<long> Progress { get; }

    public IsoImageBuilder New()
    {
        var builder = new IsoImageBuilder(VolumeId) { CreationTime = Created, PublisherId = "BackupBuild tests" };
        builder.AddDirectory("2026/11/21", Day1);
        builder.AddDirectory("/2026/11/22/", Day2);
        return builder;
    }

    public string NewFolder(string name) => temp.Dir(name + "-" + Guid.NewGuid().ToString("N")[..6]);

    public void Dispose() => temp.Dispose();

    /// <summary>Reports on the calling thread, unlike Progress&lt;T&gt;, so the list is complete when WriteTo returns.</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
