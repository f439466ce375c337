using System;
using System.IO;
using System.Threading;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// A pipe that turns readable the moment a wait is cancelled, polled beside the jobserver's descriptors: a wait ends
/// on Ctrl+C at once instead of at the end of its poll slice.
/// </summary>
internal sealed class CancellationWake : IDisposable
{
    private readonly SafeFd _read;
    private readonly SafeFd _write;
    private readonly CancellationTokenRegistration _registration;

    private CancellationWake(SafeFd read, SafeFd write, CancellationToken cancellationToken)
    {
        _read = read;
        _write = write;
        _registration = cancellationToken.Register(Wake);
    }

    /// <summary>
    /// A wake for <paramref name="cancellationToken"/>; null when it can never be cancelled, or when no pipe can be made
    /// (out of descriptors): the poll slice then notices the cancellation.
    /// </summary>
    public static CancellationWake? For(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return null;
        }

        try
        {
            var (read, write) = PosixCalls.Pipe();
            return new CancellationWake(read, write, cancellationToken);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary><paramref name="reads"/>, followed by the wake's read end when there is a wake.</summary>
    public static SafeFd[] Append(SafeFd[] reads, CancellationWake? wake)
    {
        if (wake is null)
        {
            return reads;
        }

        var polled = new SafeFd[reads.Length + 1];
        reads.CopyTo(polled, 0);
        polled[reads.Length] = wake._read;
        return polled;
    }

    /// <summary>Ends the registration first, so the callback never writes to a closed pipe.</summary>
    public void Dispose()
    {
        _registration.Dispose();
        _read.Dispose();
        _write.Dispose();
    }

    // Runs inside CancellationTokenSource.Cancel (MSBuild's cancel of the task): it must not throw.
    private void Wake()
    {
        try
        {
            _write.Use(fd => PosixCalls.TryWriteByte(fd, 0));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The poll slice notices the cancellation instead.
        }
    }
}
