namespace BackupBuild.Tasks.Store;

/// <summary>The store configuration as MSBuild hands it over: raw property values, checked by <see cref="StoreSettings"/>.</summary>
public interface IStoreProperties
{
    string? StagingDir { get; }
    string? WorkingDir { get; }
    string? ImageFile { get; }
    string? MediaType { get; }
    string? ImageCapacity { get; }
    string? WarnMidnight { get; }
    string? RunDate { get; }
    string? StartingDay { get; }
    string? Full { get; }
    string? Device { get; }
    string? DriveSpeed { get; }
    string? Eject { get; }
    string? EjectDelay { get; }
    string? RefreshMediaDelay { get; }
    string? CheckMedia { get; }
    string? CheckData { get; }
    string? MediaLabel { get; }
    string? BlankMode { get; }
    string? BlankFactor { get; }
    string? Xorriso { get; }
    string? DriveTimeoutSeconds { get; }
    /// <summary>The collect dir: the image must not lie inside it (BKP1602).</summary>
    string? CollectDir => null;
}

/// <summary>Raw store properties for callers that are not media tasks (Validate).</summary>
public sealed class StoreProperties : IStoreProperties
{
    public string? StagingDir { get; init; }
    public string? CollectDir { get; init; }
    public string? WorkingDir { get; init; }
    public string? ImageFile { get; init; }
    public string? MediaType { get; init; }
    public string? ImageCapacity { get; init; }
    public string? WarnMidnight { get; init; }
    public string? RunDate { get; init; }
    public string? StartingDay { get; init; }
    public string? Full { get; init; }
    public string? Device { get; init; }
    public string? DriveSpeed { get; init; }
    public string? Eject { get; init; }
    public string? EjectDelay { get; init; }
    public string? RefreshMediaDelay { get; init; }
    public string? CheckMedia { get; init; }
    public string? CheckData { get; init; }
    public string? MediaLabel { get; init; }
    public string? BlankMode { get; init; }
    public string? BlankFactor { get; init; }
    public string? Xorriso { get; init; }
    public string? DriveTimeoutSeconds { get; init; }
}
