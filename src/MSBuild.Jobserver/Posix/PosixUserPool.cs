using System.IO;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// This build's membership of the FIFO pool shared by all of the user's builds (see <see cref="UserPool"/>).
/// Every member holds the FIFO open read-write, so its bytes outlive any one build; the last member to leave drains,
/// counts and removes it.
/// </summary>
internal sealed class PosixUserPool : UserPool
{
    private readonly SafeFd _fd;

    private PosixUserPool(IPoolPlatform platform, int size, string directory, SafeFd fd, PipeIdentity identity, UserPoolDirectory.Member member, bool created, string? parent)
        : base(platform, JobserverAuth.Fifo(System.IO.Path.Combine(directory, "fifo")), size, directory, identity, member, created, parent)
    {
        _fd = fd;
    }

    /// <summary>Joins the user's pool, creating it with <paramref name="tokens"/> tokens when no live build has one.</summary>
    public static PosixUserPool Join(IPoolPlatform platform, int tokens, string? parent)
    {
        using var gate = UserPoolDirectory.LockGate(platform, parent);
        var size = gate.LiveSize();
        var created = size is null;
        if (created)
        {
            gate.CreateFresh(tokens);
        }

        SafeFd? fd = null;
        try
        {
            fd = created ? CreateFifo(gate.FifoPath, tokens) : OpenFifo(gate.FifoPath);
            var identity = fd.Use(n => PosixCalls.TryFstat(n, out var status, out _) ? status.Identity : throw new IOException("fstat failed on " + gate.FifoPath));
            return new PosixUserPool(platform, size ?? tokens, gate.Path, fd, identity, gate.Join(), created, parent);
        }
        catch
        {
            fd?.Dispose();
            if (created)
            {
                gate.RemoveAll();
            }

            throw;
        }
    }

    private protected override int CountAvailableCore() => PosixJobTokenPool.Count(_fd);

    private protected override bool? HasFreeTokenCore() => PosixJobTokenPool.HasToken(_fd);

    private protected override int Drain() => _fd.Use(fd => PosixJobTokenPool.Drain(fd).Count);

    private protected override void Release() => _fd.Dispose();

    private static SafeFd CreateFifo(string path, int tokens)
    {
        var errno = PosixCalls.MakeFifo(path, PosixJobTokenPool.FifoMode);
        if (errno != 0)
        {
            throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot create the shared jobserver at " + path + ": " + PosixCalls.Describe(errno) + ".");
        }

        PosixCalls.ChangeMode(path, PosixJobTokenPool.FifoMode);
        var fd = OpenFifo(path);
        try
        {
            PosixJobTokenPool.Fill(fd, tokens, "The shared jobserver FIFO " + path);
            return fd;
        }
        catch
        {
            // The caller never gets it to close: a FIFO that cannot hold the tokens must not stay open in this process.
            fd.Dispose();
            throw;
        }
    }

    // The FIFO another build made: it must be a FIFO of this user, mode 0600, reached without following a link.
    private static SafeFd OpenFifo(string path)
    {
        var fd = PosixCalls.TryOpenFifo(path, noFollow: true, out var errno)
            ?? throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot open the shared jobserver " + path + ": " + PosixCalls.Describe(errno) + ".");
        var ok = fd.Use(n => PosixCalls.TryFstat(n, out var status, out _) && status.Type == PosixCalls.TypeFifo
            && status.Uid == PosixCalls.GetUid() && (status.Permissions & 0x3F) == 0);
        if (!ok)
        {
            fd.Dispose();
            throw new JobserverException(JobserverRejection.FifoNotPrivate, "The shared jobserver " + path + " is not a private FIFO of this user; remove its directory.");
        }

        return fd;
    }
}
