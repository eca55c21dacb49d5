using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Inventory.Tasks;

/// <summary>
/// An example module: for each InventoryDirectory item, a listing of its files (path, size) written into
/// CollectDir as inventory-NAME.txt, where Collect's archives and Stage pick it up like any collected file.
/// The file is written under a temporary name and renamed, so a killed run never leaves half a listing.
/// </summary>
public sealed class WriteInventory : Microsoft.Build.Utilities.Task
{
    public ITaskItem[] Directories { get; set; } = [];

    [Required] public string CollectDir { get; set; } = "";

    [Output] public ITaskItem[] Files { get; set; } = [];

    public override bool Execute()
    {
        // Check every item first, and report all problems before writing anything.
        foreach (var dir in Directories)
        {
            if (!Path.IsPathRooted(dir.ItemSpec))
                Log.LogError(null, "INV0001", null, null, 0, 0, 0, 0, "InventoryDirectory \"{0}\" must be an absolute path.", dir.ItemSpec);
            else if (!Directory.Exists(dir.ItemSpec))
                Log.LogError(null, "INV0002", null, null, 0, 0, 0, 0, "InventoryDirectory \"{0}\" does not exist.", dir.ItemSpec);
        }
        if (Log.HasLoggedErrors) return false;

        Directory.CreateDirectory(CollectDir);
        var written = new List<ITaskItem>();
        foreach (var dir in Directories)
        {
            var name = dir.GetMetadata("Name");
            if (string.IsNullOrEmpty(name)) name = dir.ItemSpec.Trim('/').Replace('/', '-');
            var target = Path.Combine(CollectDir, "inventory-" + name + ".txt");
            var lines = Directory.EnumerateFiles(dir.ItemSpec, "*", SearchOption.AllDirectories)
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => $"{new FileInfo(p).Length}\t{Path.GetRelativePath(dir.ItemSpec, p)}");
            var temp = target + ".tmp";
            File.WriteAllLines(temp, lines);
            File.Move(temp, target, overwrite: true);
            Log.LogMessage(MessageImportance.High, "Inventory: wrote \"{0}\".", target);
            written.Add(new TaskItem(target));
        }
        Files = written.ToArray();
        return true;
    }
}
