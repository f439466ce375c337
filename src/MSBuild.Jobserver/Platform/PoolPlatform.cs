using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Posix;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Windows;

namespace MSBuild.Jobserver.Platform;

/// <summary>
/// The jobserver API every caller uses, over the platform chosen once per process here (as jobserver-rs's Client sits
/// over its unix and windows modules): create a pool, connect to one, wait on several. Nothing below this folder
/// chooses a platform: a pool's directory and its clients carry the one they were made with.
/// </summary>
public static class PoolPlatform
{
    // Windows: pools are named semaphores and Exec runs cmd.exe; otherwise POSIX (a FIFO, sh). Written where the
    // platform analyzer (CA1416) can see the check guard the Windows type.
    private static readonly Lazy<IPoolPlatform> Chosen = new(() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? new WindowsPoolPlatform() : new PosixPoolPlatform());

    private static int _loadStarted;

    /// <summary>
    /// Linux: another process's descriptors can be reopened by path (<c>/proc/PID/fd/N</c>), and /proc can be scanned.
    /// The chosen platform answers even where it cannot work (POSIX without its helper library): the validation that
    /// follows says so.
    /// </summary>
    public static bool CanReopenDescriptorsByPath => Chosen.Value.CanReopenDescriptorsByPath;

    /// <summary>"POSIX" or "Windows": which of the props' per-platform defaults apply.</summary>
    public static string Family => Current.Family;

    /// <summary>
    /// Connects to a build's own pool as the entry process described it: a FIFO or descriptor path checked against
    /// <paramref name="identity"/> (POSIX), or a semaphore's name (Windows).
    /// </summary>
    /// <exception cref="JobserverException">It cannot be opened, or it is not the pool the entry process made.</exception>
    public static JobserverClient ConnectToBuildPool(string path, PipeIdentity? identity) => Current.ConnectToBuildPool(path, identity);

    /// <summary>A build's directory the owner created, for the locks and files of its ledger (it owns nothing).</summary>
    public static PoolDirectory OpenDirectory(string path) => PoolDirectory.Open(Current, path);

    /// <summary>
    /// The path by which another process of this user reopens this process's <paramref name="descriptor"/>
    /// (<c>/proc/PID/fd/N</c> on Linux); null where there is none.
    /// </summary>
    public static string? DescriptorPath(int processId, int descriptor) => Current.DescriptorPath(processId, descriptor);

    /// <summary>Keeps a validated inherited pipe end from every process started from now on; false where pools are not passed on descriptors.</summary>
    /// <exception cref="System.IO.IOException">The descriptor's flags cannot be changed.</exception>
    public static bool KeepFromChildren(int descriptor) => Current.KeepFromChildren(descriptor);

    /// <summary>Closes <paramref name="descriptor"/> if it is still the pipe <paramref name="identity"/> names.</summary>
    public static void CloseIfStill(int descriptor, PipeIdentity identity) => Current.CloseIfStill(descriptor, identity);

    /// <summary>
    /// The memory this build can still use, in bytes: in a Linux memory cgroup (v1 or v2, the process's own and every
    /// ancestor with a limit) the limit minus what is in use, not counting inactive file cache the kernel reclaims first;
    /// never more than the system's MemAvailable. Windows: GlobalMemoryStatusEx's available physical memory. macOS:
    /// free, inactive, purgeable and speculative pages (host_statistics64). Null where none of these can be read.
    /// </summary>
    public static long? AvailableMemory()
    {
        try
        {
            return Current.AvailableMemory();
        }
        catch (Exception ex) when (ex is System.IO.IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Reads the machine's busy and total CPU time; null where the CPU's use is not sampled.</summary>
    public static Func<(ulong Busy, ulong Total)?>? CpuTimes => Current.CpuTimes;

    /// <summary>The processors the CPU times cover.</summary>
    public static int CpuCount() => Current.CpuCount();

    /// <summary>
    /// The build servers (worker nodes, the MSBuild server, VBCSCompiler) other than this process that hold one of
    /// <paramref name="pipes"/> inheritably and so keep a parent make waiting; empty where they cannot be found.
    /// </summary>
    public static IReadOnlyList<PipeHolder> LingeringPipeHolders(IReadOnlyCollection<PipeIdentity> pipes) => Current.LingeringPipeHolders(pipes);

    /// <summary>
    /// Loads this process's platform layer (on POSIX, Mono.Unix and its native library) on a thread-pool thread, once per
    /// process, so that the first connection to the pool does not pay for it; a worker node starts with none loaded. A
    /// failure here is ignored: the first real call meets it again and reports it.
    /// </summary>
    public static void LoadInBackground()
    {
        if (Interlocked.Exchange(ref _loadStarted, 1) != 0)
        {
            return;
        }

        ThreadPool.QueueUserWorkItem(_ =>
        {
            // Nothing may escape a thread-pool thread (it would end MSBuild); the real call reports what this meets.
            try
            {
                _ = Current;
            }
            catch (Exception)
            {
            }
        });
    }

    /// <summary>This process's platform, chosen on first use; POSIX checks that its helper library loads (JobserverException otherwise).</summary>
    internal static IPoolPlatform Current
    {
        get
        {
            var platform = Chosen.Value;
            platform.EnsureAvailable();
            return platform;
        }
    }

    /// <summary>
    /// Creates a pool holding <paramref name="tokens"/> tokens in a private directory of its own (see PoolDirectory): on
    /// POSIX under <c>$XDG_RUNTIME_DIR</c> (when it is set and private) or the first temporary directory whose path can
    /// be named in MAKEFLAGS; on Windows under the user's temporary folder.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokens"/> is not between 1 and <see cref="JobTokenPool.MaxTokens"/>.</exception>
    /// <exception cref="JobserverException">The pool cannot be created here; the message says why.</exception>
    public static JobTokenPool CreatePool(int tokens) => CreatePoolIn(tokens, null);

    /// <summary>
    /// Like <see cref="CreatePool(int)"/>, with the FIFO's per-user directory made inside <paramref name="parentDirectory"/>
    /// (POSIX; ignored on Windows).
    /// </summary>
    public static JobTokenPool CreatePool(int tokens, string parentDirectory) =>
        CreatePoolIn(tokens, parentDirectory ?? throw new ArgumentNullException(nameof(parentDirectory)));

    /// <summary>
    /// Joins the one pool all of this user's builds share, creating it with <paramref name="tokens"/> tokens when no
    /// live build has one; its <see cref="JobTokenPool.Size"/> is the size it was created with. <see cref="JobTokenPool.Close()"/> leaves it; the last
    /// build to leave removes it. POSIX: a FIFO in the per-user directory; Windows: a semaphore in the session.
    /// </summary>
    /// <exception cref="JobserverException">The pool cannot be created or joined here; the message says why.</exception>
    public static JobTokenPool JoinUserPool(int tokens, string? parentDirectory)
    {
        CheckTokens(tokens);
        return Current.JoinUserPool(tokens, parentDirectory);
    }

    /// <summary>
    /// Validates <paramref name="auth"/> (see <see cref="JobserverValidator"/>) and connects. For the <c>R,W</c> form on
    /// Linux the pipe is reopened through /proc/self/fd, so this client never changes the inherited file description.
    /// </summary>
    /// <exception cref="JobserverException">The jobserver was rejected or cannot be opened; the message says what to do.</exception>
    public static JobserverClient Connect(JobserverAuth auth) => Connect(auth, null);

    /// <summary>Like <see cref="Connect(JobserverAuth)"/>, naming <paramref name="variableName"/> in error messages.</summary>
    public static JobserverClient Connect(JobserverAuth auth, string? variableName)
    {
        var validation = JobserverValidator.ValidateOrThrow(auth, variableName);
        return Current.Connect(validation);
    }

    /// <summary>
    /// Opens <paramref name="path"/>, a pipe that another process already validated (such as <c>/proc/&lt;pid&gt;/fd/&lt;n&gt;</c>
    /// or a pool's FIFO), and checks that it is still that pipe. POSIX only.
    /// </summary>
    /// <exception cref="JobserverException">It cannot be opened, or it is not the pipe <paramref name="expected"/> names.</exception>
    public static JobserverClient ConnectToValidated(string path, PipeIdentity expected)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new ArgumentException("A path is required.", nameof(path));
        }

        return Current.ConnectToValidated(path, expected);
    }

    /// <summary>
    /// Waits on several jobservers at once and takes the first token any of them offers. All clients must come from
    /// this platform's <see cref="Connect(JobserverAuth)"/>; on Windows at most 63.
    /// </summary>
    /// <returns>Which client gave the token (an index into <paramref name="clients"/>), and the token.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">No token came within <paramref name="timeout"/>.</exception>
    public static (int Index, JobToken Token) AcquireAny(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        return Current.AcquireAny(clients, cancellationToken, JobserverClient.Deadline(clients, timeout));
    }

    /// <summary>
    /// Waits until one of <paramref name="clients"/> seems to have a free token, and takes none: for a waiter that
    /// must do something slow (reacquire its MSBuild node) before it can use a token, and must not hold one
    /// meanwhile. A token that a blocked reader (cargo, rustc) takes the moment it comes back does not count. The
    /// token may be gone by the time the caller asks for it; the caller then waits again.
    /// </summary>
    /// <returns>The index of a client that had a token.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">No token came within <paramref name="timeout"/>.</exception>
    public static int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        return Current.WaitForFreeToken(clients, cancellationToken, JobserverClient.Deadline(clients, timeout));
    }

    private static JobTokenPool CreatePoolIn(int tokens, string? parentDirectory)
    {
        CheckTokens(tokens);
        var platform = Current;
        var home = PoolDirectory.Create(platform, parentDirectory);
        try
        {
            return platform.CreatePool(tokens, home);
        }
        catch
        {
            home.Dispose();
            throw;
        }
    }

    private static void CheckTokens(int tokens)
    {
        if (tokens < 1 || tokens > JobTokenPool.MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "A jobserver pool holds between 1 and " + JobTokenPool.MaxTokens + " tokens.");
        }
    }
}
