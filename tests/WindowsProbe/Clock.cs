namespace WindowsProbe;

/// <summary>Wall-clock milliseconds since the Unix epoch: comparable between processes (wine uses the host's clock).</summary>
internal static class Clock
{
    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
