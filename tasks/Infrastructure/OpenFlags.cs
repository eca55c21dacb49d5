using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// The open(2) flags whose numbers differ between Linux architectures. x86, x86-64 and the generic layout
/// (riscv64, loongarch64, s390x) share one set; arm, arm64 and ppc64le number O_DIRECTORY and O_NOFOLLOW
/// otherwise, so the x86 numbers there would ask for O_DIRECT and O_LARGEFILE and silently follow links.
/// Tests compare these with the platform's own values (Python's os module).
/// </summary>
internal static class OpenFlags
{
    private static readonly bool ArmLayout =
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm or Architecture.Ppc64le;

    /// <summary>O_DIRECTORY.</summary>
    public static readonly int Directory = ArmLayout ? 0x4000 : 0x10000;

    /// <summary>O_NOFOLLOW.</summary>
    public static readonly int NoFollow = ArmLayout ? 0x8000 : 0x20000;

    /// <summary>O_CLOEXEC (the same on every architecture .NET runs on).</summary>
    public const int CloseOnExec = 0x80000;
}
