using System.Text;
using System.Xml;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Import;

/// <summary>
/// One element of a cback3.conf, read the way Cedar Backup's xmlutil reads it: only direct
/// children count, and an element's value is its first run of text, not trimmed (an empty
/// element has no value).
/// </summary>
public sealed class CedarNode
{
    internal CedarNode(string name, CedarNode? parent, int line)
    {
        Name = name;
        Parent = parent;
        Line = line;
    }

    public string Name { get; }
    public CedarNode? Parent { get; }
    public int Line { get; }
    public List<CedarNode> Children { get; } = new();
    internal List<string> TextRuns { get; } = new();

    /// <summary>The first run of text directly in the element, or null (Cedar's first TEXT_NODE child).</summary>
    public string? Text => TextRuns.Count > 0 ? TextRuns[0] : null;

    public IEnumerable<CedarNode> All(string name) => Children.Where(c => c.Name == name);

    public CedarNode? First(string name) => Children.FirstOrDefault(c => c.Name == name);

    /// <summary>Cedar's readString: the text of the first child of that name that has any text.</summary>
    public string? Value(string name) => All(name).Select(c => c.Text).FirstOrDefault(t => t != null);

    /// <summary>Cedar's readStringList: the text of every child of that name that has text.</summary>
    public List<string> Values(string name) => All(name).Select(c => c.Text).Where(t => t != null).Select(t => t!).ToList();

    /// <summary>The element's place in the file, e.g. cb_config/collect/dir[2]/link_depth (line 40).</summary>
    public string Path
    {
        get
        {
            var parts = new List<string>();
            for (var n = this; n != null; n = n.Parent)
            {
                var part = n.Name;
                if (n.Parent != null)
                {
                    var same = n.Parent.Children.Where(c => c.Name == n.Name).ToList();
                    if (same.Count > 1) part += "[" + (same.IndexOf(n) + 1) + "]";
                }
                parts.Add(part);
            }
            parts.Reverse();
            return string.Join("/", parts);
        }
    }

    /// <summary>The path of a child element by name (which may not exist), for messages.</summary>
    public string PathOf(string child) => (First(child)?.Path ?? Path + "/" + child) + LineNote(First(child) ?? this);

    public string Where => Path + LineNote(this);

    private static string LineNote(CedarNode n) => n.Line > 0 ? $" (line {n.Line})" : "";
}

/// <summary>Reads a cback3.conf with the standard library's XmlReader: no DTD, no entities, bounded size.</summary>
public static class CedarXml
{
    /// <summary>Cedar configurations are a few kilobytes; anything near this is not one.</summary>
    public const long MaxCharacters = 8L * 1024 * 1024;

    /// <summary>The document node (a virtual parent of the root element), or null after reporting why.</summary>
    public static CedarNode? Load(string path, Problems problems)
    {
        FileInfo info;
        try
        {
            info = new FileInfo(path);
            if (!info.Exists)
            {
                problems.Error("Import.NoConfig", path);
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            problems.Error("Import.Unreadable", path, e.Message);
            return null;
        }
        if (info.Length > MaxCharacters * 4)
        {
            problems.Error("Import.TooLarge", path, MaxCharacters);
            return null;
        }
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Load(stream, path, problems);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Error("Import.Unreadable", path, e.Message);
            return null;
        }
    }

    public static CedarNode? Load(Stream stream, string path, Problems problems)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxCharacters,
            MaxCharactersFromEntities = 0,
            IgnoreComments = false,
            IgnoreProcessingInstructions = false,
            IgnoreWhitespace = false,
            CloseInput = false,
        };
        var document = new CedarNode("#document", null, 0);
        try
        {
            using var reader = XmlReader.Create(stream, settings);
            var info = (IXmlLineInfo)reader;
            var current = document;
            StringBuilder? run = null;
            void EndRun()
            {
                if (run != null) current.TextRuns.Add(run.ToString());
                run = null;
            }
            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.DocumentType:
                        problems.Error("Import.Doctype", path);
                        return null;
                    case XmlNodeType.Element:
                        EndRun();
                        var element = new CedarNode(reader.LocalName == reader.Name ? reader.Name : reader.Name, current, info.LineNumber);
                        current.Children.Add(element);
                        if (!reader.IsEmptyElement) current = element;
                        break;
                    case XmlNodeType.EndElement:
                        EndRun();
                        current = current.Parent ?? document;
                        break;
                    case XmlNodeType.Text:
                    case XmlNodeType.Whitespace:
                    case XmlNodeType.SignificantWhitespace:
                    case XmlNodeType.CDATA:
                        if (current == document) break;
                        (run ??= new StringBuilder()).Append(reader.Value);
                        break;
                    case XmlNodeType.EntityReference:
                        problems.Error("Import.Doctype", path);
                        return null;
                    default:
                        // Comments and processing instructions end a run of text, as in Python's minidom.
                        EndRun();
                        break;
                }
            }
        }
        catch (XmlException e)
        {
            if (e.Message.Contains("DTD", StringComparison.Ordinal) || e.Message.Contains("DOCTYPE", StringComparison.Ordinal))
                problems.Error("Import.Doctype", path);
            else if (e.Message.Contains("MaxCharacters", StringComparison.Ordinal))
                problems.Error("Import.TooLarge", path, MaxCharacters);
            else
                problems.Error("Import.Malformed", path, e.LineNumber, e.LinePosition, e.Message);
            return null;
        }
        return document;
    }
}
