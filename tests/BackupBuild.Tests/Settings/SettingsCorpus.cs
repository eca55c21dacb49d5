namespace BackupBuild.Tests.Settings;

/// <summary>
/// Values of every parsed setting, good and bad, with the one code a bad value must get (null: accepted). Validate
/// and every action that reads the setting must agree on each (SettingsCorpusTests, SettingsEndToEndTests).
/// </summary>
public static class SettingsCorpus
{
    public sealed record Entry(string Setting, string Value, string? Code)
    {
        public override string ToString() => $"{Setting}=\"{Value}\" -> {Code ?? "accepted"}";
    }

    private static Entry Ok(string setting, string value) => new(setting, value, null);
    private static Entry Bad(string setting, string value, string code) => new(setting, value, code);

    public static readonly Entry[] All =
    {
        // The run group: times, days, booleans, whole numbers.
        Ok("BackupRunDate", "2026-12-09"), Ok("BackupRunDate", "2026-12-09T01:30"), Ok("BackupRunDate", "2026-12-09 01:30:15"),
        Bad("BackupRunDate", "yesterday", "BKP1001"), Bad("BackupRunDate", "2026-13-01", "BKP1001"), Bad("BackupRunDate", "09.12.2026", "BKP1001"),
        Ok("StartingDay", "sunday"), Bad("StartingDay", "Sunday", "BKP1002"), Bad("StartingDay", "sun", "BKP1002"),
        Ok("Full", "true"), Ok("Full", "False"), Bad("Full", "yes", "BKP1006"), Bad("Full", "1", "BKP1006"),
        Ok("BackupLockWaitSeconds", "0"), Ok("BackupLockWaitSeconds", " 7 "), Bad("BackupLockWaitSeconds", "x", "BKP1008"),
        Bad("BackupLockWaitSeconds", "-1", "BKP1008"), Bad("BackupLockWaitSeconds", "1.5", "BKP1008"), Bad("BackupLockWaitSeconds", "99999999999", "BKP1008"),

        // Collect: enums, booleans, numbers, paths, regular expressions.
        Ok("CollectMode", "weekly"), Bad("CollectMode", "hourly", "BKP1012"), Bad("CollectMode", "Daily", "BKP1012"),
        Ok("ArchiveMode", "tarzst"), Bad("ArchiveMode", "zip", "BKP1012"),
        Ok("CollectRehashAll", "true"), Bad("CollectRehashAll", "always", "BKP1006"),
        Ok("CollectCarryUnstaged", "false"), Bad("CollectCarryUnstaged", "no", "BKP1006"),
        Ok("CompressionLevel", "smallest"), Bad("CompressionLevel", "best", "BKP1028"),
        Ok("CompressionThreads", "3"), Bad("CompressionThreads", "-1", "BKP1008"), Bad("CompressionThreads", "many", "BKP1008"),
        Ok("CollectExcludePaths", "/x;/y/z"), Bad("CollectExcludePaths", "x/y", "BKP1025"),
        Ok("CollectExcludePatterns", ".*\\.tmp"), Bad("CollectExcludePatterns", "([", "BKP1026"),

        // Remote peers.
        Ok("SshConnectTimeout", "1"), Bad("SshConnectTimeout", "abc", "BKP1100"), Bad("SshConnectTimeout", "0", "BKP1100"),
        Ok("SshIdleTimeout", "3"), Bad("SshIdleTimeout", "2", "BKP1100"), Bad("SshIdleTimeout", "2m", "BKP1100"),
        Ok("StageParallelism", "1"), Ok("StageParallelism", "16"), Bad("StageParallelism", "x", "BKP1100"), Bad("StageParallelism", "0", "BKP1100"),
        Ok("RemoteCopy", "scp -O"), Ok("ManagedActions", "collect;stage"),

        // Store: enums, sizes, booleans, numbers, labels, paths.
        Ok("StoreMediaType", "cdr-80"), Bad("StoreMediaType", "bluray", "BKP1030"),
        Ok("StoreImageCapacity", "700 MB"), Ok("StoreImageCapacity", "1048576"), Bad("StoreImageCapacity", "lots", "BKP1031"), Bad("StoreImageCapacity", "1 KB", "BKP1031"),
        Ok("StoreWarnMidnight", "true"), Bad("StoreWarnMidnight", "maybe", "BKP1006"),
        Bad("StoreDevice", "sr0", "BKP1050"),
        Ok("StoreDriveSpeed", "4"), Bad("StoreDriveSpeed", "4x", "BKP1051"), Bad("StoreDriveSpeed", "0", "BKP1051"),
        Ok("StoreEject", "false"), Bad("StoreEject", "no", "BKP1006"),
        Ok("StoreEjectDelay", "5"), Bad("StoreEjectDelay", "-5", "BKP1008"),
        Ok("StoreRefreshMediaDelay", "0"), Bad("StoreRefreshMediaDelay", "soon", "BKP1008"),
        Ok("StoreCheckMedia", "true"), Bad("StoreCheckMedia", "on", "BKP1006"),
        Ok("StoreCheckData", "true"), Bad("StoreCheckData", "on", "BKP1006"),
        Ok("StoreMediaLabel", "WEEKLY 2"), Bad("StoreMediaLabel", "lower case", "BKP1052"), Bad("StoreMediaLabel", "A LABEL FAR TOO LONG FOR IT", "BKP1052"),
        Ok("StoreDriveTimeoutSeconds", "60"), Bad("StoreDriveTimeoutSeconds", "0", "BKP1100"), Bad("StoreDriveTimeoutSeconds", "2h", "BKP1100"),
        Bad("StoreImageFile", "media/backup.iso", "BKP1010"),
        // StoreBlankMode and StoreBlankFactor go together: either alone is refused.
        Bad("StoreBlankMode", "daily", "BKP1053"), Bad("StoreBlankFactor", "1.5", "BKP1053"),

        // Mail.
        Ok("MailTo", "a@example.org;b@example.org"), Bad("MailTo", "admin", "BKP7001"),
        Ok("MailMethod", "smtp"), Bad("MailMethod", "pigeon", "BKP7002"),
        Ok("MailSmtpPort", "2525"), Bad("MailSmtpPort", "smtp", "BKP1100"), Bad("MailSmtpPort", "0", "BKP1100"),

        // MySQL dumps (with a MysqlDatabase item).
        Ok("MysqlCompressMode", "gzip"), Bad("MysqlCompressMode", "zip", "BKP1012"),
        Ok("MysqlTimeoutSeconds", "30"), Bad("MysqlTimeoutSeconds", "0", "BKP1100"), Bad("MysqlTimeoutSeconds", "long", "BKP1100"),
        Bad("MysqlOptionsFile", "my.cnf", "BKP1010"),

        // amazons3 (the pool sets S3Bucket, which turns it on; SyncToS3 reads the part size and checksums too).
        Ok("S3Bucket", "my-bucket/backups"), Bad("S3Bucket", "My_Bucket", "BKP6300"), Bad("S3Bucket", "ab", "BKP6300"),
        Ok("S3FullSizeLimit", "1.5 GB"), Bad("S3FullSizeLimit", "big", "BKP6301"),
        Ok("S3IncrSizeLimit", "10240"), Bad("S3IncrSizeLimit", "-5", "BKP6301"),
        Ok("S3WarnMidnight", "true"), Bad("S3WarnMidnight", "yes", "BKP1006"),
        Ok("S3EncryptTimeoutSeconds", "1"), Bad("S3EncryptTimeoutSeconds", "0", "BKP1100"), Bad("S3EncryptTimeoutSeconds", "1h", "BKP1100"),
        Ok("S3PartSize", "5 MB"), Ok("S3PartSize", "5 GB"), Bad("S3PartSize", "1 MB", "BKP6302"), Bad("S3PartSize", "6 GB", "BKP6302"), Bad("S3PartSize", "x", "BKP6302"),
        Ok("S3VerifyChecksum", "false"), Bad("S3VerifyChecksum", "off", "BKP1006"),
        Ok("S3ObjectLockDays", "30"), Bad("S3ObjectLockDays", "0", "BKP6340"), Bad("S3ObjectLockDays", "36501", "BKP6340"), Bad("S3ObjectLockDays", "+3", "BKP6340"),
        Ok("S3ObjectLockMode", "compliance"), Bad("S3ObjectLockMode", "STRICT", "BKP6341"),

        // encrypt (the pool sets EncryptRecipient), split (SplitSizeLimit and SplitSize), capacity (CapacityMaxPercentage).
        Ok("EncryptGpgHomeDir", "/root/.gnupg"), Bad("EncryptGpgHomeDir", "gnupg", "BKP1010"),
        Ok("EncryptTimeoutSeconds", "60"), Bad("EncryptTimeoutSeconds", "0", "BKP1100"), Bad("EncryptTimeoutSeconds", "an hour", "BKP1100"),
        Ok("SplitSizeLimit", "0"), Ok("SplitSizeLimit", "1.5 GB"), Bad("SplitSizeLimit", "huge", "BKP6210"), Bad("SplitSizeLimit", "-1 MB", "BKP6210"),
        Ok("SplitSize", "1"), Bad("SplitSize", "0", "BKP6210"), Bad("SplitSize", "100 PB", "BKP6210"),
        Ok("CapacityMaxPercentage", "0"), Ok("CapacityMaxPercentage", "99.5"), Bad("CapacityMaxPercentage", "101", "BKP6221"), Bad("CapacityMaxPercentage", "90%", "BKP6221"),
        Bad("CapacityMinBytes", "500 MB", "BKP6220"),
        Ok("CapacityFailRun", "true"), Bad("CapacityFailRun", "always", "BKP1006"),

        // The collect modules (the pool gives every module its group, as if each had items; Validate checks a module's group only then).
        Ok("GitCollectMode", "weekly"), Bad("GitCollectMode", "hourly", "BKP1012"), Ok("GitTimeoutSeconds", "5"), Bad("GitTimeoutSeconds", "0", "BKP1100"),
        Ok("MboxCollectMode", "incr"), Bad("MboxCollectMode", "Daily", "BKP1012"), Ok("MboxCompressMode", "bzip2"), Bad("MboxCompressMode", "zip", "BKP1012"),
        Bad("MboxTimeoutSeconds", "x", "BKP1100"),
        Ok("SubversionCollectMode", "weekly"), Bad("SubversionCollectMode", "monthly", "BKP1012"), Ok("SubversionCompressMode", "gzip"),
        Bad("SubversionCompressMode", "xz", "BKP1012"), Bad("SubversionTimeoutSeconds", "-3", "BKP1100"),
        Ok("PostgresqlCompressMode", "none"), Bad("PostgresqlCompressMode", "xz", "BKP1012"), Bad("PostgresqlTimeoutSeconds", "0", "BKP1100"),
        Ok("PostgresqlPort", "5433"), Bad("PostgresqlPort", "0", "BKP1100"), Bad("PostgresqlPort", "pg", "BKP1100"), Bad("PostgresqlPassFile", "pgpass", "BKP1010"),
        Ok("TracCompressMode", "gzip"), Bad("TracCompressMode", "7z", "BKP1012"), Bad("TracTimeoutSeconds", "soon", "BKP1100"),
        Ok("MediawikiCompressMode", "none"), Bad("MediawikiCompressMode", "Gzip", "BKP1012"), Bad("MediawikiTimeoutSeconds", "0", "BKP1100"),
        Ok("WordpressCompressMode", "bzip2"), Bad("WordpressCompressMode", "lzma", "BKP1012"), Bad("WordpressTimeoutSeconds", "1.5", "BKP1100"),
        Bad("SysinfoListingRoot", "srv", "BKP1010"), Ok("SysinfoTimeoutSeconds", "10"), Bad("SysinfoTimeoutSeconds", "0", "BKP1100"),

        // Span, Verify, Report.
        Ok("SpanImagePattern", "/srv/span/disc-{n}.iso"), Bad("SpanImagePattern", "/srv/span/disc.iso", "BKP9100"), Bad("SpanImagePattern", "/srv/{n}/disc-{n}.iso", "BKP9100"),
        Bad("SpanImagePattern", "span-{n}.iso", "BKP1010"),
        Ok("SpanCapacity", "700 MB"), Bad("SpanCapacity", "0", "BKP9101"), Bad("SpanCapacity", "a disc", "BKP9101"),
        Ok("SpanCushionPercent", "0"), Ok("SpanCushionPercent", "10.5"), Bad("SpanCushionPercent", "100", "BKP9102"), Bad("SpanCushionPercent", "-1", "BKP9102"),
        Ok("SpanMarkStored", "false"), Bad("SpanMarkStored", "no", "BKP1006"),
        Ok("VerifyFraction", "0.25"), Ok("VerifyFraction", "1"), Bad("VerifyFraction", "0", "BKP8101"), Bad("VerifyFraction", "1.5", "BKP8101"), Bad("VerifyFraction", "all", "BKP8101"),
        Bad("ReportFile", "report.html", "BKP1010"), Bad("ReportTextFile", "report.txt", "BKP1010"), Ok("ReportTextFile", ""),
        Ok("ReportWeeks", "1"), Bad("ReportWeeks", "0", "BKP1100"), Bad("ReportWeeks", "a month", "BKP1100"),

        // The schedule (InstallSchedule, RemoveSchedule for ScheduleFile; the pool has a BackupServer, so ScheduleRequestUser runs lines).
        Bad("ScheduleFile", "cron.d/backupbuild", "BKP1010"), Bad("ScheduleFile", "/tmp/backup.build", "BKP9003"),
        Ok("ScheduleUser", "backup"), Bad("ScheduleUser", "no-such-user-bkp", "BKP9006"), Bad("ScheduleUser", "root admin", "BKP9006"),
        Ok("ScheduleDotnet", "/usr/bin/dotnet"), Bad("ScheduleDotnet", "dotnet --roll-forward", "BKP1150"), Bad("ScheduleDotnet", "bin/dotnet", "BKP1150"),
        Ok("ScheduleArguments", "-p:X=1 \"-p:Note=two words\""), Bad("ScheduleArguments", "-p:Note=\"unclosed", "BKP9007"),
        Ok("ScheduleGitPull", "true"), Bad("ScheduleGitPull", "yes", "BKP1006"),
        Ok("ScheduleCollectTime", "23:59"), Bad("ScheduleCollectTime", "24:00", "BKP9002"), Ok("ScheduleStageTime", "15 1 * * 1-5"),
        Bad("ScheduleStageTime", "* * * *", "BKP9002"), Bad("ScheduleStoreTime", "4.30", "BKP9002"), Bad("SchedulePurgeTime", "every day", "BKP9002"),
        Bad("ScheduleAllTime", "1:5", "BKP9002"), Ok("ScheduleRequestSummaryTime", "none"), Bad("ScheduleRequestSummaryTime", "7pm", "BKP9002"),
        Ok("ScheduleReportTime", "NONE"), Bad("ScheduleReportTime", "06:45;", "BKP9002"), Ok("ScheduleVerifyTime", ""),
        Bad("ScheduleVerifyTime", "sunday", "BKP9002"), Ok("ScheduleRequestAllTime", "0 */2 * * *"), Bad("ScheduleRequestAllTime", "01:60", "BKP9002"),
        Ok("ScheduleRequestsEveryMinutes", "59"), Bad("ScheduleRequestsEveryMinutes", "60", "BKP9005"), Bad("ScheduleRequestsEveryMinutes", "0", "BKP9005"),
        Bad("ScheduleRequestsEveryMinutes", "five", "BKP9005"),
        Ok("ScheduleRequestUser", "root"), Bad("ScheduleRequestUser", "no-such-user-bkp", "BKP7100"),

        // The request queue's timeouts (SendRequests and ProcessRequests both parse the group).
        Ok("RequestSendTimeoutSeconds", "1"), Bad("RequestSendTimeoutSeconds", "0", "BKP1100"), Bad("RequestSendTimeoutSeconds", "10m", "BKP1100"),
        Ok("RequestPullTimeoutSeconds", "86400"), Bad("RequestPullTimeoutSeconds", "-1", "BKP1100"), Bad("RequestPullTimeoutSeconds", "6h", "BKP1100"),

        // Programs: a bare name or an absolute path, one program, no shell (the programs group and the programs of other groups).
        Ok("GitPath", "/usr/bin/git"), Bad("GitPath", "git --no-pager", "BKP1150"), Bad("GitPath", "./git", "BKP1150"), Bad("GitPath", "/usr/bin/", "BKP1150"),
        Ok("GrepmailPath", "grepmail"), Bad("GrepmailPath", "/usr/bin/grepmail\nrm", "BKP1150"),
        Bad("SvnadminPath", "svnadmin;id", "BKP1150"), Bad("SvnlookPath", "`svnlook`", "BKP1150"),
        Ok("SqliteProgram", "/usr/bin/sqlite3"), Bad("SqliteProgram", "sqlite3 -batch", "BKP1150"),
        Bad("PostgresqlDumpProgram", "-pg_dump", "BKP1150"), Bad("PostgresqlDumpAllProgram", "pg_dumpall|cat", "BKP1150"),
        Ok("RequestGitProgram", "/usr/bin/git"), Bad("RequestGitProgram", "git\tx", "BKP1150"),
        Bad("RequestRsyncProgram", "rsync -a", "BKP1150"), Bad("RequestSftpProgram", "sftp>x", "BKP1150"),
        Ok("StoreXorrisoPath", "/usr/bin/xorriso"), Bad("StoreXorrisoPath", "xorriso -abort_on NEVER", "BKP1150"),
        Bad("EncryptGpgPath", "gpg --batch", "BKP1150"), Ok("ManagedDotnet", "/usr/share/dotnet/dotnet"), Bad("ManagedDotnet", "dotnet exec", "BKP1150"),
        Bad("MailSendmail", "sendmail -t", "BKP1150"), Bad("MysqlDumpProgram", "mysqldump --all", "BKP1150"),

        // Restore (Restore reads the group, Find its gpg part).
        Ok("RestorePath", "/etc"), Ok("RestorePath", " /srv/data "), Bad("RestorePath", "etc/hosts", "BKP8003"),
        Ok("RestoreOverwrite", "true"), Bad("RestoreOverwrite", "perhaps", "BKP1006"),
        Ok("RestoreDryRun", "True"), Bad("RestoreDryRun", "yes", "BKP1006"),
        Ok("RestorePartial", "true"), Bad("RestorePartial", "1", "BKP1006"),
        Ok("RestoreGpgPath", "/usr/bin/gpg"), Bad("RestoreGpgPath", "gpg --batch", "BKP1150"), Bad("RestoreGpgPath", "bin/gpg", "BKP1150"),
        Ok("RestoreGpgHomeDir", "/root/.gnupg"), Bad("RestoreGpgHomeDir", "gnupg", "BKP1010"),
        Ok("RestorePassphraseFile", "/etc/passwd"), Bad("RestorePassphraseFile", "passphrase.txt", "BKP8603"),
        Bad("RestorePassphraseFile", "/no/such/passphrase", "BKP8603"), Bad("RestorePassphraseFile", "/etc", "BKP8603"),

        // Browse (a request-queue server); prune needs a retention (both default to 0).
        Ok("BrowseCommand", "verify"), Ok("BrowseCommand", "LIST"), Bad("BrowseCommand", "delete", "BKP7050"), Bad("BrowseCommand", "prune", "BKP7053"),
        Ok("BrowseKeepLast", "7"), Bad("BrowseKeepLast", "-1", "BKP1008"), Bad("BrowseKeepLast", "all", "BKP1008"),
        Ok("BrowseKeepDays", "30"), Bad("BrowseKeepDays", "a month", "BKP1008"),
        Ok("BrowseDryRun", "true"), Bad("BrowseDryRun", "maybe", "BKP1006"),

        // SyncToS3's mode (both true is BKP6304: SettingsCorpusTests).
        Ok("SyncVerifyOnly", "true"), Bad("SyncVerifyOnly", "yes", "BKP1006"), Ok("SyncUploadOnly", "true"), Bad("SyncUploadOnly", "-u", "BKP1006"),

        // The run log's owner and mode (WriteRunLog; InstallSchedule's request log).
        Ok("BackupLogMode", "0604"), Ok("BackupLogMode", "600"), Bad("BackupLogMode", "rw-r-----", "BKP9020"), Bad("BackupLogMode", "888", "BKP9020"),
        Bad("BackupLogMode", "-640", "BKP9020"), Bad("BackupLogMode", "10000", "BKP9020"),
        Ok("BackupLogUser", "root"), Bad("BackupLogUser", "no-such-user-bkp", "BKP9024"),
        Ok("BackupLogGroup", "root"), Bad("BackupLogGroup", "no-such-group-bkp", "BKP9025"),

        // Purge's group.
        Ok("PurgeUnstagedCollect", "true"), Ok("PurgeUnstagedCollect", "False"), Bad("PurgeUnstagedCollect", "sometimes", "BKP1006"),

        // Plain properties the actions read beside the groups.
        Bad("WorkingDir", "work", "BKP1010"), Bad("StagingDir", "staging", "BKP1010"),
    };
}
