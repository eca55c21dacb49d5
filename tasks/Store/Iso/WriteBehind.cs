using System.Runtime.InteropServices;

namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Starts the kernel writing an image's pages to disk while later pages are still being produced
/// (sync_file_range with SYNC_FILE_RANGE_WRITE: start, do not wait), so the fsync that makes the image durable
/// at the end finds little left to do. Linux only; elsewhere, and for streams that are not files, it does nothing.
/// </summary>
internal sealed class WriteBehind(Stream output)
{
    private const uint SyncFileRangeWrite = 2;
    private readonly FileStream? file = OperatingSystem.IsLinux() ? output as FileStream : null;
    private bool unsupported;

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(int fd, long offset, long count, uint flags);

    /// <summary>Asks for the bytes just written (ending at the stream's position) to go to disk soon.</summary>
    public void Written(long count)
    {
        if (file == null || unsupported || count <= 0) return;
        try
        {
            var fd = (int)file.SafeFileHandle.DangerousGetHandle();
            if (SyncFileRange(fd, file.Position - count, count, SyncFileRangeWrite) != 0) unsupported = true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or ObjectDisposedException)
        {
            unsupported = true; // a hint only: never a reason to fail the write
        }
    }
}
