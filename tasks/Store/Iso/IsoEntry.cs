using System.Text;

namespace BackupBuild.Tasks.Store.Iso;

internal enum IsoEntryKind { Directory, File, Symlink }

/// <summary>
/// One node of the tree that goes on the image: what lstat said when it was scanned (the image must
/// describe the tree as it was then, not as it is while writing), plus what layout assigns to it.
/// </summary>
internal sealed class IsoEntry
{
    public const uint DirectoryType = 0x4000;
    public const uint RegularType = 0x8000;
    public const uint SymlinkType = 0xA000;

    private IsoEntry(IsoEntryKind kind, string name, IsoEntry? parent)
    {
        Kind = kind;
        Name = name;
        NameBytes = Encoding.UTF8.GetBytes(name);
        Parent = parent;
    }

    public IsoEntryKind Kind { get; }

    /// <summary>The real name, recorded in Rock Ridge NM entries. Empty for the root.</summary>
    public string Name { get; }

    public byte[] NameBytes { get; }

    /// <summary>Set when a scanned tree is grafted into the image tree.</summary>
    public IsoEntry? Parent { get; set; }

    /// <summary>The full st_mode, file type bits included, as Rock Ridge PX wants it.</summary>
    public uint Mode { get; set; }

    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public long MtimeSeconds { get; set; }
    public long CtimeSeconds { get; set; }

    /// <summary>
    /// A directory made up to hold a graft point ("2026/11" above "2026/11/21"), or the root. It has no
    /// source of its own: it gets owner root, mode 0755 and the volume's creation time.
    /// </summary>
    public bool Synthetic { get; set; }

    public string? SourcePath { get; set; }

    /// <summary>SHA-256 of the bytes written for this file, computed while they were copied onto the image.</summary>
    public byte[]? Sha256 { get; set; }

    /// <summary>
    /// A file already on the medium, read from an earlier session: its extents (absolute blocks, byte
    /// lengths), which the new session's directory records point at again instead of copying the data.
    /// </summary>
    public IReadOnlyList<(uint Lba, uint Length)>? Existing { get; set; }

    /// <summary>
    /// Set by layout for a file of an earlier session that must be written again: its Rock Ridge entries need a
    /// continuation area, which the new session places after the old data, and libarchive (bsdtar) refuses a
    /// regular file whose continuation area comes after its data. <see cref="SourcePath"/> is then the medium.
    /// </summary>
    public bool CopyExisting { get; set; }

    /// <summary>True when this session points at data already on the medium instead of writing it.</summary>
    public bool ReusesExtents => Existing != null && !CopyExisting;

    public long Size { get; set; }
    public string? LinkTarget { get; set; }

    private Dictionary<string, IsoEntry>? children;

    /// <summary>Children by real name; only directories have any (made on first use, files are the many).</summary>
    public Dictionary<string, IsoEntry> Children => children ??= new(StringComparer.Ordinal);

    // Assigned by layout.
    public string Identifier { get; set; } = "";
    public uint Lba { get; set; }
    public uint DirectorySectors { get; set; }
    public ushort DirectoryNumber { get; set; }

    public static IsoEntry NewSyntheticDirectory(string name, IsoEntry? parent) =>
        new(IsoEntryKind.Directory, name, parent) { Synthetic = true, Mode = DirectoryType | 0x1ED /* 0755 */ };

    public static IsoEntry New(IsoEntryKind kind, string name, IsoEntry parent) => new(kind, name, parent);

    public string IsoPath => Parent == null ? "/" : Parent.Parent == null ? "/" + Name : Parent.IsoPath + "/" + Name;

    public bool IsDirectory => Kind == IsoEntryKind.Directory;
}
