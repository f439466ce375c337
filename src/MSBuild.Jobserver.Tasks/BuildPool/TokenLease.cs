using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>What a refill found: tokens minted again, and surplus tokens taken out.</summary>
internal readonly record struct RefillResult(int Recovered, int Removed);

/// <summary>
/// Who could hold the build's tokens. A FIFO cannot tell who holds a byte, so every token request registers a lease
/// file (<c>lease-&lt;pid&gt;-&lt;id&gt;</c>) in the pool's private directory before it reads, and removes it only after
/// the token is back and its tool's process tree is gone. When the last lease ends, nothing can legitimately hold a
/// token, so the pool must hold all of them: tokens that tools took and never gave back (killed by a timeout,
/// Ctrl+C, a crash) are minted again, and the rest of the build keeps its full width.
/// </summary>
/// <remarks>
/// Sound because an acquirer registers before it reads, and the refill drains the pool, then checks the leases
/// again before it writes anything back: a lease that appeared meanwhile makes it put back exactly what it drained.
/// A lease whose process is gone is ignored (that node died with its tools). Tools that get the pool without a lease
/// (JobserverAdvertiseToAllTools) turn refilling off for the build.
/// </remarks>
internal sealed class TokenLease : IDisposable
{
    private const string LeasePrefix = "lease-";
    private const string LockName = "refill.lock";
    private const string NoRefillMarker = "no-refill";
    private const string RecoveredPrefix = "recovered-";
    private const byte MintedToken = (byte)'+';

    private readonly string _path;
    private bool _ended;

    private TokenLease(string path) => _path = path;

    /// <summary>Registers a lease in <paramref name="directory"/>; a lease without a directory is a no-op.</summary>
    public static TokenLease Begin(string directory)
    {
        if (directory.Length == 0 || !Directory.Exists(directory))
        {
            return new TokenLease("");
        }

        var path = Path.Combine(directory, LeasePrefix + ProcessInfo.CurrentId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllBytes(path, Array.Empty<byte>());
            return new TokenLease(path);
        }
        catch (DirectoryNotFoundException)
        {
            // The build ended under us and its pool's directory is gone: nothing is left to refill.
            return new TokenLease("");
        }
    }

    /// <summary>Ends the lease. Idempotent.</summary>
    public void Dispose()
    {
        if (!_ended && _path.Length > 0 && Directory.Exists(Path.GetDirectoryName(_path)))
        {
            File.Delete(_path);
        }

        _ended = true;
    }

    /// <summary>Turns refilling off for the build: something takes tokens without a lease.</summary>
    public static void DisableRefill(string directory)
    {
        if (directory.Length > 0 && Directory.Exists(directory))
        {
            File.WriteAllBytes(Path.Combine(directory, NoRefillMarker), Array.Empty<byte>());
        }
    }

    /// <summary>
    /// When no lease is left, tops <paramref name="pool"/> back up to <paramref name="size"/> tokens (or takes out a
    /// surplus). Returns what it changed; nothing when leases remain, another process is refilling, or refilling is off.
    /// </summary>
    public static RefillResult RefillIfIdle(string directory, JobserverClient pool, int size)
    {
        if (directory.Length == 0 || File.Exists(Path.Combine(directory, NoRefillMarker)) || AnyLiveLease(directory) || !TryLock(directory))
        {
            return default;
        }

        var drained = new List<JobToken>();
        try
        {
            while (drained.Count <= size && pool.TryAcquire(out var token))
            {
                drained.Add(token);
            }

            if (AnyLiveLease(directory))
            {
                // Someone started asking while we counted: they may hold what we miss. Put back exactly what we took.
                drained.ForEach(pool.Release);
                return default;
            }

            var keep = Math.Min(drained.Count, size);
            drained.Take(keep).ToList().ForEach(pool.Release);
            for (var i = keep; i < size; i++)
            {
                pool.Release(new JobToken(MintedToken));
            }

            var result = new RefillResult(size - keep, drained.Count - keep);
            if (result.Recovered > 0 || result.Removed > 0)
            {
                File.AppendAllText(Path.Combine(directory, RecoveredPrefix + ProcessInfo.CurrentId.ToString(CultureInfo.InvariantCulture) + ".tsv"),
                    result.Recovered.ToString(CultureInfo.InvariantCulture) + "\t" + result.Removed.ToString(CultureInfo.InvariantCulture) + "\n");
            }

            return result;
        }
        finally
        {
            File.Delete(Path.Combine(directory, LockName));
        }
    }

    /// <summary>Tokens minted again so far in this build (all processes).</summary>
    public static int RecoveredSoFar(string directory)
    {
        if (directory.Length == 0 || !Directory.Exists(directory))
        {
            return 0;
        }

        return Directory.EnumerateFiles(directory, RecoveredPrefix + "*.tsv")
            .SelectMany(File.ReadAllLines)
            .Select(line => line.Split('\t')[0])
            .Sum(n => int.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) ? count : 0);
    }

    private static bool AnyLiveLease(string directory) =>
        Directory.EnumerateFiles(directory, LeasePrefix + "*").Any(IsLiveLease);

    // A lease names its process; once that process is gone (a killed node), the lease means nothing.
    private static bool IsLiveLease(string path)
    {
        var name = Path.GetFileName(path).Substring(LeasePrefix.Length);
        var dash = name.IndexOf('-');
        if (dash > 0 && int.TryParse(name.Substring(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsAlive(pid))
        {
            return true;
        }

        File.Delete(path);
        return false;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool TryLock(string directory)
    {
        var path = Path.Combine(directory, LockName);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
                var pid = System.Text.Encoding.ASCII.GetBytes(ProcessInfo.CurrentId.ToString(CultureInfo.InvariantCulture));
                stream.Write(pid, 0, pid.Length);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                // A lock left by a process that died mid-refill is stale.
                if (int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var owner) && IsAlive(owner))
                {
                    return false;
                }

                File.Delete(path);
            }
        }

        return false;
    }
}
