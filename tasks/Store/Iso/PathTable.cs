using System.Buffers.Binary;
using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// The path table (ECMA-119 9.4): every directory with its extent and parent number, in the order
/// layout numbered them (by depth, then parent, then identifier). Written twice: little-endian (L) and
/// big-endian (M).
/// </summary>
internal static class PathTable
{
    public static int Size(IReadOnlyList<IsoEntry> directories) => directories.Sum(d => RecordLength(IdentifierLength(d)));

    public static byte[] Build(IReadOnlyList<IsoEntry> directories, bool bigEndian)
    {
        var table = new byte[Size(directories)];
        var at = 0;
        foreach (var directory in directories)
        {
            var identifier = directory.Parent == null ? [0] : Encoding.ASCII.GetBytes(directory.Identifier);
            var record = table.AsSpan(at, RecordLength(identifier.Length));
            record[0] = (byte)identifier.Length;
            record[1] = 0;
            var parentNumber = directory.Parent?.DirectoryNumber ?? (ushort)1;
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(record[2..], directory.Lba);
                BinaryPrimitives.WriteUInt16BigEndian(record[6..], parentNumber);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(record[2..], directory.Lba);
                BinaryPrimitives.WriteUInt16LittleEndian(record[6..], parentNumber);
            }
            identifier.CopyTo(record[8..]);
            at += record.Length;
        }
        return table;
    }

    private static int IdentifierLength(IsoEntry directory) => directory.Parent == null ? 1 : directory.Identifier.Length;

    private static int RecordLength(int identifierLength) => 8 + identifierLength + identifierLength % 2;
}
