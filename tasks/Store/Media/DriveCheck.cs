using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>What Validate can tell about a drive without touching the medium: the device exists and xorriso is there.</summary>
public static class DriveCheck
{
    public static void Check(string device, string xorriso, Problems problems)
    {
        if (!device.StartsWith("stdio:", StringComparison.Ordinal) && !File.Exists(device) && !Directory.Exists(device))
            problems.Error("Media.NoDevice", device);
        if (!Installed(xorriso)) problems.Error("Media.NoXorriso", xorriso);
    }

    private static bool Installed(string program) =>
        program.Contains('/')
            ? File.Exists(program)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Any(dir => File.Exists(Path.Combine(dir, program)));
}
