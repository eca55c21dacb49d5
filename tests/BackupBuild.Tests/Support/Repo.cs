namespace BackupBuild.Tests.Support;

public static class Repo
{
    /// <summary>The checkout the tests run from (the folder holding BackupBuild.sln).</summary>
    public static string Root { get; } = FindRoot();

    public static string Targets => Path.Combine(Root, "targets");

    /// <summary>The task assembly built with the tests (the ProjectReference copies it here).</summary>
    public static string TasksAssembly => Path.Combine(AppContext.BaseDirectory, "BackupBuild.Tasks.dll");

    /// <summary>The run logger built with the tests (copied here by the ProjectReference).</summary>
    public static string LoggerAssembly => Path.Combine(AppContext.BaseDirectory, "BackupBuild.Logging.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BackupBuild.sln"))) return dir.FullName;
        throw new InvalidOperationException("BackupBuild.sln not found above " + AppContext.BaseDirectory);
    }
}
