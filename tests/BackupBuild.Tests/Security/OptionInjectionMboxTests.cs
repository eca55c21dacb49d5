using BackupBuild.Tasks.Extensions.Mbox;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Extensions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// The mbox module and file names a mail user chooses: grepmail opens a named file with Perl's two-argument open
/// (a name ending in "|" runs a command) and decompresses through a shell (a name with $(…) runs a command), so
/// BackupBuild opens each mailbox itself and gives grepmail its content on standard input.
/// </summary>
public class OptionInjectionMboxTests
{
    private static string Message(string subject) =>
        $"From sender@example.org Sun Nov 22 10:00:00 2026\nFrom: sender@example.org\nSubject: {subject}\n" +
        "Date: Sun, 22 Nov 2026 10:00:00 +0000\n\nBody.\n\n";

    [Fact]
    public void Mail_file_names_that_are_shell_commands_to_grepmail_run_nothing_and_are_extracted()
    {
        Tool.Require("grepmail");
        using var dir = new TempDir();
        var mail = dir.Dir("home/joe/Mail");
        // A plain mailbox named like a pipe, and a gzip-compressed one whose name holds a command substitution.
        File.WriteAllText(Path.Combine(mail, "inbox;touch pwned-pipe;|"), Message("piped"));
        var gz = Path.Combine(mail, "old$(touch pwned-subst)");
        File.WriteAllText(gz + ".plain", Message("compressed"));
        Assert.Equal(0, Tool.Run("gzip", "-n", gz + ".plain").ExitCode);
        File.Move(gz + ".plain.gz", gz);
        var project = new BackupProject(dir.Path).Item("MboxDirectory", mail).Property("BackupRunDate", "2026-11-23T01:00");

        var r = project.Run("CollectModules");

        Assert.True(r.ExitCode == 0, r.All);
        // Nothing ran: no marker anywhere under the test folder, nor in the folders the programs ran in.
        Assert.Empty(Directory.GetFiles(dir.Path, "pwned-*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "pwned-pipe")));
        Assert.False(File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "pwned-subst")));
        // Both mailboxes were read, under their own names.
        var tar = Assert.Single(Directory.GetFiles(project.CollectDir, "mbox-20261123-*.tar"));
        var members = ModuleRig.Ok("tar", "-tf", tar).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, members.Length);
        var text = string.Concat(members.Select(m => ModuleRig.Ok("tar", "-xOf", tar, m).Output));
        Assert.Contains("Subject: piped", text);
        Assert.Contains("Subject: compressed", text);
    }

    [Fact]
    public void A_mailbox_that_is_a_symbolic_link_is_not_followed()
    {
        Tool.Require("grepmail");
        using var rig = new ModuleRig();
        var secret = rig.Temp.File("secret/shadow-like", Message("secret"));
        var box = rig.Temp["mail/root"];
        Directory.CreateDirectory(Path.GetDirectoryName(box)!);
        File.CreateSymbolicLink(box, secret);
        var task = new BackupMbox { MboxFiles = new[] { PropsDefaults.Defined("MboxFile", box) } };

        Assert.False(rig.Run(task, ModuleRig.Monday));
        var error = Assert.Single(rig.Engine.Errors);
        Assert.Equal("BKP6402", error.Code);
        Assert.Contains(box, error.Message);
        // Nothing of the link's target reached the collect folder.
        foreach (var f in rig.CollectFiles())
            Assert.DoesNotContain("Subject: secret", File.ReadAllText(Path.Combine(rig.CollectDir, f)));
        Assert.Empty(rig.CollectFiles());
    }

    [Fact]
    public void Extracts_read_from_standard_input_equal_grepmail_on_the_named_file()
    {
        // The change of input keeps Cedar's output: compare with grepmail given the (harmlessly named) file.
        Tool.Require("grepmail");
        using var rig = new ModuleRig();
        var box = rig.Temp.File("mail/plain", Message("one") + Message("two") + Message("one"));
        Assert.True(rig.Run(new BackupMbox { MboxFiles = new[] { PropsDefaults.Defined("MboxFile", box) } }, ModuleRig.Monday), rig.Engine.AllText);
        var ours = File.ReadAllText(Path.Combine(rig.CollectDir, "mbox-20261123-" + NormalizedPath.From(box)));
        Assert.Equal(ModuleRig.Ok("grepmail", "-a", "-u", box).Output, ours);
        Assert.Contains("Subject: two", ours);
    }
}
