namespace BackupBuild.Tasks.Store.Iso;

/// <summary>Orders byte strings (UTF-8 names) by unsigned byte value.</summary>
internal sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y) => ((ReadOnlySpan<byte>)x).SequenceCompareTo(y);
}
