using BackupBuild.Tasks.Collect.Archive;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>Numeric header fields: octal while it fits, GNU base-256 beyond.</summary>
[Trait("Tier", "Fast")]
public class TarNumberTests
{
    private static string Field(int width, long value)
    {
        var field = new byte[width];
        TarNumber.Write(field, value);
        return Convert.ToHexString(field);
    }

    private static string Octal(string digits) => Convert.ToHexString([.. digits.Select(c => (byte)c), 0]);

    [Theory]
    [InlineData(8, 0L, "0000000")]
    [InlineData(8, 420L, "0000644")] // mode 0644
    [InlineData(8, 2097151L, "7777777")] // largest octal id
    [InlineData(12, 8589934591L, "77777777777")] // 8 GiB - 1: largest octal size
    [InlineData(12, 1700000000L, "14524770400")]
    public void Values_that_fit_are_zero_padded_octal_with_a_nul(int width, long value, string digits) =>
        Assert.Equal(Octal(digits), Field(width, value));

    [Theory]
    [InlineData(8, 2097152L, "8000000000200000")] // first id past octal
    [InlineData(8, 3000000000L, "80000000B2D05E00")]
    [InlineData(12, 8589934592L, "800000000000000200000000")] // 8 GiB
    [InlineData(12, 1L << 40, "800000000000010000000000")] // a time far in the future
    [InlineData(12, -1L, "FFFFFFFFFFFFFFFFFFFFFFFF")]
    [InlineData(12, -631152000L, "FFFFFFFFFFFFFFFFDA616280")] // 1950-01-01
    public void Larger_and_negative_values_use_base_256(int width, long value, string hex) =>
        Assert.Equal(hex, Field(width, value));
}
