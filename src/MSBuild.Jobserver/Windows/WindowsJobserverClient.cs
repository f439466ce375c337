using System;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>A client on a named semaphore. A token is one count of the semaphore; its byte value is unused.</summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal sealed class WindowsJobserverClient : JobserverClient
{
    private const byte Token = (byte)'+';
    private readonly Semaphore _semaphore;

    public WindowsJobserverClient(JobserverAuth auth)
        : base(auth, null) => _semaphore = WindowsJobserver.Open(auth.Name!, "--jobserver-auth=" + auth.ToAuthString());

    public static (int Index, JobToken Token) AcquireAny(WindowsJobserverClient[] clients, CancellationToken cancellationToken, long? deadline)
    {
        // WaitAny prefers the lowest index, so a token that is available wins over a cancellation that is not yet seen.
        var handles = new WaitHandle[clients.Length + 1];
        for (var i = 0; i < clients.Length; i++)
        {
            handles[i] = clients[i]._semaphore;
        }

        handles[clients.Length] = cancellationToken.WaitHandle;
        var index = WaitHandle.WaitAny(handles, RemainingMilliseconds(deadline));
        if (index == WaitHandle.WaitTimeout)
        {
            throw new TimeoutException("No jobserver token became available in time.");
        }

        if (index == clients.Length)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        return (index, new JobToken(Token));
    }

    public override void Release(JobToken token)
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // The semaphore's maximum is the pool size, so Windows itself refuses a release beyond it (a token given
            // back twice, or refilled after its holder returned it): the pool stays at its size, which is the promise.
        }
    }

    private protected override JobToken AcquireCore(CancellationToken cancellationToken, long? deadline) =>
        AcquireAny(new[] { this }, cancellationToken, deadline).Token;

    private protected override bool TryTake(out JobToken token)
    {
        token = new JobToken(Token);
        return _semaphore.WaitOne(0);
    }

    private protected override void Dispose(bool disposing) => _semaphore.Dispose();
}
