using System.Globalization;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>JobserverMinFreeMemory's syntax: MiB as a whole number, or a number with a binary suffix.</summary>
internal static class MemorySize
{
    private const long MaxMebibytes = 1L << 40;

    /// <summary>Reads "2048", "512M", "512MiB", "2G", "2GB", "2GiB" (M and G are binary: MiB, GiB); empty is 0 (off).</summary>
    public static bool TryParseMebibytes(string text, out long mebibytes)
    {
        mebibytes = 0;
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            return true;
        }

        var digits = 0;
        while (digits < trimmed.Length && char.IsDigit(trimmed[digits]))
        {
            digits++;
        }

        var multiplier = trimmed.Substring(digits).Trim().ToUpperInvariant() switch
        {
            "" or "M" or "MB" or "MIB" => 1L,
            "G" or "GB" or "GIB" => 1024L,
            _ => 0L,
        };
        if (digits == 0 || multiplier == 0
            || !long.TryParse(trimmed.Substring(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value > MaxMebibytes / multiplier)
        {
            return false;
        }

        mebibytes = value * multiplier;
        return true;
    }
}
