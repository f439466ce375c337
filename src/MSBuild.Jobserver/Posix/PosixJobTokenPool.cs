using System.Collections.Generic;
using System.IO;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// A pool in a FIFO, <c>fifo</c> in the build's private directory (see <see cref="PoolDirectory"/>). The directories
/// are 0700 and the FIFO 0600 so that no other user can see, add or steal tokens; we hold it open read-write for the
/// pool's whole life, because a FIFO that nobody has open loses its bytes.
/// </summary>
internal sealed class PosixJobTokenPool : JobTokenPool
{
    internal const uint FifoMode = 0x180; // 0600
    private const byte Token = (byte)'+';

    private readonly SafeFd _fd;
    private readonly string _fifoPath;

    private PosixJobTokenPool(int size, PoolDirectory home, SafeFd fd, PipeIdentity identity)
        : base(JobserverAuth.Fifo(home.FifoPath), size, home, identity)
    {
        _fd = fd;
        _fifoPath = home.FifoPath;
    }

    public static PosixJobTokenPool CreatePool(int tokens, PoolDirectory home)
    {
        var fifoPath = home.FifoPath;
        SafeFd? fd = null;
        try
        {
            var errno = PosixCalls.MakeFifo(fifoPath, FifoMode);
            if (errno != 0)
            {
                throw CannotCreate(fifoPath, errno);
            }

            PosixCalls.ChangeMode(fifoPath, FifoMode);
            fd = PosixCalls.TryOpenFifo(fifoPath, noFollow: true, out errno) ?? throw CannotCreate(fifoPath, errno);
            var identity = fd.Use(n => PosixCalls.TryFstat(n, out var status, out _) ? status.Identity : throw new IOException("fstat failed on " + fifoPath));
            Fill(fd, tokens, "The jobserver FIFO " + fifoPath);
            return new PosixJobTokenPool(tokens, home, fd, identity);
        }
        catch
        {
            fd?.Dispose();
            throw;
        }
    }

    private protected override int CountAvailableCore() => Count(_fd);

    private protected override bool? HasFreeTokenCore() => HasToken(_fd);

    private protected override int CloseCore()
    {
        var found = _fd.Use(fd => Drain(fd).Count);
        _fd.Dispose();
        PosixCalls.Unlink(_fifoPath);
        return found;
    }

    /// <summary>Writes <paramref name="tokens"/> tokens into a new FIFO, which <paramref name="named"/> names if it cannot hold them.</summary>
    internal static void Fill(SafeFd fifo, int tokens, string named) => fifo.Use(fd =>
    {
        for (var i = 0; i < tokens; i++)
        {
            if (!PosixCalls.TryWriteByte(fd, Token))
            {
                throw new JobserverException(JobserverRejection.FifoOpenFailed, named + " holds only " + i + " tokens: ask for fewer job slots.");
            }
        }

        return 0;
    });

    /// <summary>How many tokens the FIFO <paramref name="fifo"/> holds: drained, counted and written back.</summary>
    internal static int Count(SafeFd fifo) => fifo.Use(fd =>
    {
        var tokens = Drain(fd);
        foreach (var token in tokens)
        {
            // Cannot be full: we have just emptied it, and a FIFO holds far more than MaxTokens bytes.
            PosixCalls.TryWriteByte(fd, token);
        }

        return tokens.Count;
    });

    /// <summary>Whether the FIFO <paramref name="fifo"/> holds a token now: readable at a poll that does not wait; nothing is read.</summary>
    internal static bool HasToken(SafeFd fifo) => fifo.Use(fd => PosixCalls.Poll(new[] { fd }, forWrite: false, 0) >= 0);

    /// <summary>Takes every byte the FIFO holds now.</summary>
    internal static List<byte> Drain(int fd)
    {
        var tokens = new List<byte>();
        while (PosixCalls.ReadByte(fd, out var token) == ReadOutcome.Byte)
        {
            tokens.Add(token);
        }

        return tokens;
    }

    private static JobserverException CannotCreate(string path, Errno errno) => new(
        JobserverRejection.FifoOpenFailed,
        "Cannot create the jobserver at " + path + ": " + PosixCalls.Describe(errno) + ". Point TMPDIR (or XDG_RUNTIME_DIR) at a writable local directory.");
}
