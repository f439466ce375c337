using System;
using System.Globalization;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// A client on a FIFO or pipe. Normally it owns one read-write, non-blocking description of the pipe (the FIFO
/// opened by path, or on Linux an inherited pipe reopened through /proc/self/fd), so waiting is a poll that a cancellation
/// wakes at once (<see cref="CancellationWake"/>). Elsewhere an inherited pipe can only be duplicated: the description is
/// shared with make and must stay blocking (make breaks if it is made non-blocking, cc-rs #962), so after poll says
/// "readable" the read may wait until a token comes back if another process took it first; cancellation is then
/// noticed only once that read returns.
/// </summary>
internal sealed class PosixJobserverClient : JobserverClient
{
    private const int PollSliceMs = 100;

    // How long a token must stay in the pipe to count as free: a reader blocked in read() takes it within microseconds.
    private const int SettleMs = 5;

    private readonly SafeFd _read;
    private readonly SafeFd _write;
    private readonly bool _sharedBlockingDescription;

    private PosixJobserverClient(JobserverAuth auth, PipeIdentity identity, SafeFd read, SafeFd write, bool sharedBlockingDescription)
        : base(auth, identity)
    {
        _read = read;
        _write = write;
        _sharedBlockingDescription = sharedBlockingDescription;
    }

    public static PosixJobserverClient ConnectValidated(JobserverValidation validation)
    {
        var auth = validation.Auth;
        var identity = validation.Identity!.Value;
        if (auth.Kind == JobserverAuthKind.Fifo)
        {
            // O_NOFOLLOW plus the identity check close the gap between validation's lstat and this open.
            return Open(auth, auth.Path!, noFollow: true, identity, "The jobserver FIFO " + auth.Path + " was replaced after it was checked");
        }

        if (PosixPoolPlatform.HasProcDescriptorPaths)
        {
            var path = "/proc/self/fd/" + auth.ReadFd.ToString(CultureInfo.InvariantCulture);
            var own = PosixCalls.TryOpenFifo(path, noFollow: false, out _);
            if (own is not null)
            {
                return Verify(auth, own, identity, "Descriptor " + auth.ReadFd + " changed while it was being connected");
            }
        }

        var read = PosixCalls.Duplicate(auth.ReadFd);
        try
        {
            return new PosixJobserverClient(auth, identity, read, PosixCalls.Duplicate(auth.WriteFd), sharedBlockingDescription: true);
        }
        catch
        {
            read.Dispose();
            throw;
        }
    }

    public static PosixJobserverClient OpenValidated(string path, PipeIdentity expected) =>
        Open(JobserverAuth.Fifo(path), path, noFollow: false, expected, "The jobserver pipe at " + path + " is not the one that was validated (expected " + expected + ")");

    public static (int Index, JobToken Token) AcquireAny(PosixJobserverClient[] clients, CancellationToken cancellationToken, long? deadline)
    {
        using var wake = CancellationWake.For(cancellationToken);
        var polled = CancellationWake.Append(ReadDescriptors(clients), wake);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < clients.Length; i++)
            {
                if (clients[i].TryTake(out var token))
                {
                    return (i, token);
                }
            }

            PollSlice(polled, deadline);
        }
    }

    public static int WaitUntilReadable(PosixJobserverClient[] clients, CancellationToken cancellationToken, long? deadline)
    {
        var reads = ReadDescriptors(clients);
        using var wake = CancellationWake.For(cancellationToken);
        var polled = CancellationWake.Append(reads, wake);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var polledReady = PollSlice(polled, deadline);
            if (polledReady < 0 || polledReady == reads.Length)
            {
                // Nothing yet, or the wake (the check above then throws).
                continue;
            }

            Thread.Sleep(SettleMs);
            var ready = SafeFd.UseAll(reads, fds => PosixCalls.Poll(fds, forWrite: false, 0));
            if (ready >= 0)
            {
                return ready;
            }
        }
    }

    private static SafeFd[] ReadDescriptors(PosixJobserverClient[] clients)
    {
        var reads = new SafeFd[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            reads[i] = clients[i]._read;
        }

        return reads;
    }

    // One poll of at most PollSliceMs (so cancellation is noticed even without a wake), never past the deadline: the index of a readable
    // descriptor, or -1. Throws TimeoutException once the deadline has passed.
    private static int PollSlice(SafeFd[] reads, long? deadline)
    {
        var remaining = RemainingMilliseconds(deadline);
        if (remaining == 0)
        {
            throw new TimeoutException("No jobserver token became available in time.");
        }

        var slice = remaining < 0 ? PollSliceMs : Math.Min(PollSliceMs, remaining);
        return SafeFd.UseAll(reads, fds => PosixCalls.Poll(fds, forWrite: false, slice));
    }

    public override void Release(JobToken token) => _write.Use(fd =>
    {
        // A jobserver pipe is never near full in practice; if it is, wait for room rather than lose the token.
        while (!PosixCalls.TryWriteByte(fd, token.Value))
        {
            PosixCalls.Poll(new[] { fd }, forWrite: true, PollSliceMs);
        }

        return 0;
    });

    private protected override JobToken AcquireCore(CancellationToken cancellationToken, long? deadline) =>
        AcquireAny(new[] { this }, cancellationToken, deadline).Token;

    private protected override bool TryTake(out JobToken token)
    {
        var outcome = _read.Use(fd =>
        {
            if (_sharedBlockingDescription && PosixCalls.Poll(new[] { fd }, forWrite: false, 0) < 0)
            {
                return (ReadOutcome.WouldBlock, (byte)0);
            }

            return (PosixCalls.ReadByte(fd, out var value), value);
        });
        if (outcome.Item1 == ReadOutcome.EndOfFile)
        {
            throw new IOException("The jobserver " + Auth + " was closed by its owner: no more tokens can be taken from it.");
        }

        token = new JobToken(outcome.Item2);
        return outcome.Item1 == ReadOutcome.Byte;
    }

    private protected override void Dispose(bool disposing)
    {
        _read.Dispose();
        _write.Dispose();
    }

    private static PosixJobserverClient Open(JobserverAuth auth, string path, bool noFollow, PipeIdentity expected, string mismatch)
    {
        var fd = PosixCalls.TryOpenFifo(path, noFollow, out var errno) ?? throw new JobserverException(
            JobserverRejection.FifoOpenFailed,
            "Cannot open the jobserver " + path + ": " + PosixCalls.Describe(errno) + ". The process that owns it has probably exited; unset the variable that names it.");
        return Verify(auth, fd, expected, mismatch);
    }

    private static PosixJobserverClient Verify(JobserverAuth auth, SafeFd fd, PipeIdentity expected, string mismatch)
    {
        var ok = fd.Use(n => PosixCalls.TryFstat(n, out var status, out _) && status.Type == PosixCalls.TypeFifo && status.Identity == expected);
        if (!ok)
        {
            fd.Dispose();
            throw new JobserverException(JobserverRejection.IdentityMismatch, mismatch + ", so it is not trusted: run the build again; if it persists, report it.");
        }

        return new PosixJobserverClient(auth, expected, fd, fd, sharedBlockingDescription: false);
    }
}
