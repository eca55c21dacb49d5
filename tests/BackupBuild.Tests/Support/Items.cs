using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tests.Support;

public static class Items
{
    /// <summary>An item with metadata given as name=value pairs.</summary>
    public static ITaskItem Of(string include, params (string Name, string Value)[] metadata)
    {
        var item = new TaskItem(include);
        foreach (var (n, v) in metadata) item.SetMetadata(n, v);
        return item;
    }
}
