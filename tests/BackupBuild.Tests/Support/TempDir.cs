namespace BackupBuild.Tests.Support;

/// <summary>A temporary folder for one test, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bkp-test-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>Creates a file (and its folders) with the given text, returning its full path.</summary>
    public string File(string relative, string content = "")
    {
        var full = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return full;
    }

    public string Dir(string relative)
    {
        var full = this[relative];
        Directory.CreateDirectory(full);
        return full;
    }

    public void Dispose()
    {
        try
        {
            // Make unreadable test folders removable again.
            Tool.Run("chmod", "-R", "u+rwx", Path);
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
