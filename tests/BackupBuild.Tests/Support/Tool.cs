using System.Diagnostics;

namespace BackupBuild.Tests.Support;

/// <summary>Runs real programs (tar, xorriso, dotnet msbuild…) the way a user would.</summary>
public static class Tool
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    /// <summary>Fails the test (never skips) when a program the test needs is missing: ./test.sh installs them.</summary>
    public static string Require(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = System.IO.Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        throw new Xunit.Sdk.XunitException($"'{program}' is not installed; ./test.sh installs what the tests need.");
    }

    public static Result Run(string program, params string[] args) => RunIn(null, program, args);

    public static Result RunIn(string? workingDirectory, string program, params string[] args) =>
        RunWith(workingDirectory, null, TimeSpan.FromMinutes(10), program, args);

    public static Result RunWith(string? workingDirectory, IDictionary<string, string?>? environment, TimeSpan timeout,
        string program, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (environment != null)
            foreach (var (k, v) in environment)
            {
                if (v == null) info.Environment.Remove(k); else info.Environment[k] = v;
            }
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}.");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
