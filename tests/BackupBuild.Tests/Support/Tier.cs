namespace BackupBuild.Tests.Support;

/// <summary>
/// The fast tier (<c>./test.sh --fast</c>, classes marked <c>[Trait("Tier", "Fast")]</c>) starts no server and no
/// MSBuild process. test.sh sets BACKUPBUILD_TEST_TIER=fast for it; the servers and BackupProject call
/// <see cref="RequireFull"/>, so a fast test that starts one fails and names what it started.
/// </summary>
public static class Tier
{
    public static void RequireFull(string what)
    {
        if (System.Environment.GetEnvironmentVariable("BACKUPBUILD_TEST_TIER") == "fast")
            throw new InvalidOperationException(
                $"{what} was started by a test in the fast tier; fast tests start no server and no MSBuild run. " +
                "Remove [Trait(\"Tier\", \"Fast\")] from the test class.");
    }
}
