using System.Globalization;

namespace BackupBuild.Tasks.Store.Media;

/// <summary>
/// The xorriso argument lists for a drive. The device goes in as configured, so /dev/sr0 and stdio:/path (a file
/// xorriso treats as a drive, which the tests use) get exactly the same commands.
/// </summary>
public static class XorrisoCommands
{
    /// <summary>What is on the medium: status, sessions, label, next writable address.</summary>
    public static List<string> Toc(string device) => ["-indev", device, "-toc"];

    /// <summary>
    /// The size of the session without writing it; -rollback_end leaves the medium untouched. A new disc is measured
    /// against stdio:/dev/null: xorriso refuses to plan a fresh tree on a drive whose medium still holds data, and
    /// the size of a fresh tree does not depend on the drive.
    /// </summary>
    public static List<string> Measure(string device, SessionPlan plan) =>
        [.. Open(plan.NewDisc ? NullDrive : device, plan), .. Contents(plan), "-print_size", "-tell_media_space", "-rollback_end"];

    public const string NullDrive = "stdio:/dev/null";

    /// <summary>
    /// Writes the session. A new disc starts from an empty tree (-outdev) and is blanked first when it holds
    /// something; an appended session starts from the medium's tree (-dev) and -update_r makes each day's folder
    /// on it equal to the staging folder (new, changed and removed files). xorriso leaves the disc appendable.
    /// </summary>
    public static List<string> Write(string device, SessionPlan plan, MediaType media, int? speed, bool blank)
    {
        var args = Open(device, plan);
        if (speed is { } s) args.AddRange(["-speed", s.ToString(CultureInfo.InvariantCulture) + (media.Kind == MediaKind.Cd ? "c" : "d")]);
        if (plan.NewDisc && blank) args.AddRange(["-blank", "as_needed"]);
        args.AddRange(Contents(plan));
        args.Add("-commit");
        return args;
    }

    public static List<string> Eject(string device) => ["-outdev", device, "-eject", "all"];

    /// <summary>Acquiring the drive loads the medium (closes the tray) and reads its table of contents again.</summary>
    public static List<string> Load(string device) => ["-outdev", device, "-toc"];

    public static List<string> Extract(string device, string isoPath, string target) =>
        ["-indev", device, "-osirrox", "on", "-extract", "/" + isoPath, target];

    private static List<string> Open(string device, SessionPlan plan) =>
        [plan.NewDisc ? "-outdev" : "-dev", device, "-volid", plan.Label];

    private static IEnumerable<string> Contents(SessionPlan plan)
    {
        foreach (var directory in plan.EmptyDirectories)
        {
            yield return "-mkdir";
            yield return "/" + directory;
            yield return "--"; // -mkdir takes a list of paths
        }
        foreach (var (isoPath, source) in plan.Days)
        {
            yield return plan.NewDisc ? "-map" : "-update_r";
            yield return source;
            yield return "/" + isoPath;
        }
    }
}
