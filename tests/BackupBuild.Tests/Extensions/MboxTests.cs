using BackupBuild.Tasks.Extensions.Mbox;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

[Trait("Tier", "Fast")]
public sealed class MboxTests : IDisposable
{
    private readonly ModuleRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private static string Message(string subject, DateTime date) =>
        $"From sender@example.org {date:ddd MMM d HH:mm:ss yyyy}\n" +
        $"From: sender@example.org\nTo: root@example.org\nSubject: {subject}\n" +
        $"Date: {date:ddd, d MMM yyyy HH:mm:ss} +0000\n\nBody of {subject}.\n\n";

    private string Mailbox(string relative, params (string Subject, string Date)[] messages)
    {
        var text = string.Concat(messages.Select(m => Message(m.Subject, DateTime.Parse(m.Date, System.Globalization.CultureInfo.InvariantCulture))));
        return _rig.Temp.File(relative, text);
    }

    private static void Append(string path, string subject, string date) =>
        File.AppendAllText(path, Message(subject, DateTime.Parse(date, System.Globalization.CultureInfo.InvariantCulture)));

    private static string[] Subjects(string text) =>
        text.Split('\n').Where(l => l.StartsWith("Subject: ")).Select(l => l["Subject: ".Length..]).ToArray();

    [Fact]
    public void A_mailbox_file_is_extracted_whole_at_the_start_of_the_week_then_only_newer_messages()
    {
        Tool.Require("grepmail");
        var box = Mailbox("mail/root", ("old", "2026-11-16T10:00"), ("sunday", "2026-11-22T10:00"));
        var name = NormalizedPath.From(box);
        var task = () => new BackupMbox { MboxFiles = new[] { PropsDefaults.Defined("MboxFile", box, ("CollectMode", "incr")) } };

        Assert.True(_rig.Run(task(), ModuleRig.Monday), _rig.Engine.AllText);
        var monday = Path.Combine(_rig.CollectDir, $"mbox-20261123-{name}");
        Assert.Equal(new[] { "old", "sunday" }, Subjects(File.ReadAllText(monday)));

        Append(box, "monday noon", "2026-11-23T12:00");
        Assert.True(_rig.Run(task(), ModuleRig.Tuesday), _rig.Engine.AllText);
        Assert.Equal(new[] { "monday noon" }, Subjects(File.ReadAllText(Path.Combine(_rig.CollectDir, $"mbox-20261124-{name}"))));

        // Nothing new: an empty extract, not an error.
        Assert.True(_rig.Run(task(), ModuleRig.Wednesday), _rig.Engine.AllText);
        Assert.Empty(Subjects(File.ReadAllText(Path.Combine(_rig.CollectDir, $"mbox-20261125-{name}"))));

        // Full ignores the state.
        Assert.True(_rig.Run(task(), ModuleRig.Wednesday, full: true), _rig.Engine.AllText);
        Assert.Equal(3, Subjects(File.ReadAllText(Path.Combine(_rig.CollectDir, $"mbox-20261125-{name}"))).Length);
    }

    [Fact]
    public void A_mail_folder_becomes_one_tar_of_per_file_extracts_with_exclusions_and_incremental_dates()
    {
        Tool.Require("grepmail");
        Tool.Require("tar");
        var dir = _rig.Temp.Dir("home/joe/Mail");
        var inbox = Mailbox("home/joe/Mail/inbox", ("a", "2026-11-20T08:00"));
        var lists = Mailbox("home/joe/Mail/lists", ("b", "2026-11-21T08:00"), ("c", "2026-11-22T08:00"));
        Mailbox("home/joe/Mail/spam", ("junk", "2026-11-22T09:00"));
        Mailbox("home/joe/Mail/old.bak", ("backup", "2026-11-22T09:00"));
        Mailbox("home/joe/Mail/sub/deeper", ("not read", "2026-11-22T09:00"));
        var task = () => new BackupMbox
        {
            MboxDirectories = new[] { PropsDefaults.Defined("MboxDirectory", dir, ("CollectMode", "incr"), ("CompressMode", "gzip"),
                ("ExcludeFiles", "spam"), ("ExcludePatterns", ".*\\.bak")) },
        };

        Assert.True(_rig.Run(task(), ModuleRig.Monday), _rig.Engine.AllText);
        var tar = Path.Combine(_rig.CollectDir, $"mbox-20261123-{NormalizedPath.From(dir)}.tar.gz");
        var entries = ModuleRig.Ok("tar", "-tzf", tar).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { $"mbox-20261123-{NormalizedPath.From(inbox)}", $"mbox-20261123-{NormalizedPath.From(lists)}" }, entries);
        var listsText = ModuleRig.Ok("tar", "-xzOf", tar, $"mbox-20261123-{NormalizedPath.From(lists)}").Output;
        Assert.Equal(new[] { "b", "c" }, Subjects(listsText));

        Append(lists, "d", "2026-11-23T18:00");
        Assert.True(_rig.Run(task(), ModuleRig.Tuesday), _rig.Engine.AllText);
        var tuesday = Path.Combine(_rig.CollectDir, $"mbox-20261124-{NormalizedPath.From(dir)}.tar.gz");
        Assert.Equal(new[] { "d" }, Subjects(ModuleRig.Ok("tar", "-xzOf", tuesday, $"mbox-20261124-{NormalizedPath.From(lists)}").Output));
        Assert.Empty(Subjects(ModuleRig.Ok("tar", "-xzOf", tuesday, $"mbox-20261124-{NormalizedPath.From(inbox)}").Output));
    }

    [Fact]
    public void A_missing_mailbox_is_a_coded_error_naming_it_and_the_others_are_still_extracted()
    {
        Tool.Require("grepmail");
        var box = Mailbox("mail/present", ("x", "2026-11-20T08:00"));
        var missing = _rig.Temp["mail/absent"];
        Assert.False(_rig.Run(new BackupMbox
        {
            MboxFiles = new[] { PropsDefaults.Defined("MboxFile", missing), PropsDefaults.Defined("MboxFile", box) },
            MboxDirectories = new[] { PropsDefaults.Defined("MboxDirectory", _rig.Temp["no/such/folder"]) },
        }, ModuleRig.Tuesday));
        Assert.Equal(new[] { "BKP6132", "BKP6132" }, _rig.Engine.ErrorCodes);
        Assert.Contains(missing, _rig.Engine.AllText);
        Assert.Equal(new[] { $"mbox-20261124-{NormalizedPath.From(box)}" }, _rig.CollectFiles());
    }
}
