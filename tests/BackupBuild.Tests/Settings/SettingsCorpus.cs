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

        // Plain properties the actions read beside the groups.
        Ok("PurgeUnstagedCollect", "true"), Bad("PurgeUnstagedCollect", "sometimes", "BKP1006"),
        Bad("WorkingDir", "work", "BKP1010"), Bad("StagingDir", "staging", "BKP1010"),
    };
}
