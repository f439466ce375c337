using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using Mono.Unix.Native;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// A pool in a FIFO: <c>&lt;parent&gt;/msbuild-jobserver-&lt;uid&gt;/&lt;pid&gt;-&lt;random&gt;/fifo</c>. The directories are
/// 0700 and the FIFO 0600 so that no other user can see, add or steal tokens; we hold it open read-write for the
/// pool's whole life, because a FIFO that nobody has open loses its bytes.
/// </summary>
internal sealed class PosixJobTokenPool : JobTokenPool
{
    private const uint PrivateDirectoryMode = 0x1C0; // 0700
    private const uint FifoMode = 0x180; // 0600
    private const uint GroupOrOtherAccess = 0x3F; // 0077
    private const byte Token = (byte)'+';

    private readonly SafeFd _fd;
    private readonly string _fifoPath;

    private PosixJobTokenPool(int size, string directory, string fifoPath, SafeFd fd, PipeIdentity identity)
        : base(JobserverAuth.Fifo(fifoPath), size, directory, identity)
    {
        _fd = fd;
        _fifoPath = fifoPath;
    }

    public static PosixJobTokenPool CreatePool(int tokens, string? parentDirectory)
    {
        var uid = PosixCalls.GetUid();
        var userDirectory = Path.Combine(parentDirectory ?? DefaultParent(uid), "msbuild-jobserver-" + uid.ToString(CultureInfo.InvariantCulture));
        EnsurePrivateDirectory(userDirectory, uid);
        SweepStale(userDirectory, uid);
        var poolDirectory = CreatePoolDirectory(userDirectory);
        var fifoPath = Path.Combine(poolDirectory, "fifo");
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
            fd.Use(n =>
            {
                for (var i = 0; i < tokens; i++)
                {
                    if (!PosixCalls.TryWriteByte(n, Token))
                    {
                        throw new JobserverException(JobserverRejection.FifoOpenFailed, "The jobserver FIFO " + fifoPath + " holds only " + i + " tokens: ask for fewer job slots.");
                    }
                }

                return 0;
            });
            return new PosixJobTokenPool(tokens, poolDirectory, fifoPath, fd, identity);
        }
        catch
        {
            fd?.Dispose();
            PosixCalls.Unlink(fifoPath);
            PosixCalls.RemoveDirectory(poolDirectory);
            throw;
        }
    }

    private protected override int CountAvailableCore() => _fd.Use(fd =>
    {
        var tokens = Drain(fd);
        foreach (var token in tokens)
        {
            // Cannot be full: we have just emptied it, and a FIFO holds far more than MaxTokens bytes.
            PosixCalls.TryWriteByte(fd, token);
        }

        return tokens.Count;
    });

    private protected override int CloseCore()
    {
        var found = _fd.Use(fd => Drain(fd).Count);
        _fd.Dispose();
        PosixCalls.Unlink(_fifoPath);
        PosixCalls.RemoveDirectory(Directory!);
        return found;
    }

    private static List<byte> Drain(int fd)
    {
        var tokens = new List<byte>();
        while (PosixCalls.ReadByte(fd, out var token) == ReadOutcome.Byte)
        {
            tokens.Add(token);
        }

        return tokens;
    }

    private static string DefaultParent(uint uid)
    {
        // XDG_RUNTIME_DIR is per-user tmpfs cleaned at logout; use it only when it really is ours and private.
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime)
               && PosixCalls.TryLstat(runtime!, out var status, out _)
               && status.Type == PosixCalls.TypeDirectory
               && status.Uid == uid
               && (status.Permissions & GroupOrOtherAccess) == 0
            ? runtime!
            : Path.GetTempPath();
    }

    private static void EnsurePrivateDirectory(string path, uint uid)
    {
        var errno = PosixCalls.MakeDirectory(path, PrivateDirectoryMode);
        if (errno == 0)
        {
            PosixCalls.ChangeMode(path, PrivateDirectoryMode);
            return;
        }

        if (errno != Errno.EEXIST)
        {
            throw CannotCreate(path, errno);
        }

        // It was there already: someone else could have planted it, so it must be exactly what we would have made.
        if (!PosixCalls.TryLstat(path, out var status, out errno))
        {
            throw CannotCreate(path, errno);
        }

        var problem = status.Type != PosixCalls.TypeDirectory ? "is not a directory (a symbolic link or a file)"
            : status.Uid != uid ? "belongs to user id " + status.Uid + ", not to this user (" + uid + ")"
            : status.Permissions != PrivateDirectoryMode ? "has mode " + Convert.ToString(status.Permissions, 8) + ", not 700"
            : null;
        if (problem is not null)
        {
            throw new JobserverException(
                JobserverRejection.FifoNotPrivate,
                "The jobserver directory " + path + " " + problem + ", so a pool there would not be private: remove it " +
                "(it is recreated as needed) or point TMPDIR at a directory of your own.");
        }
    }

    // A pool whose owner was killed (a crashed or SIGKILLed MSBuild) leaves its directory behind. Its name starts
    // with the owner's pid: once no process has that id, nothing can use the FIFO, and the next pool removes it.
    // The entries are unlinked, never followed, and only directories of ours inside our private directory count.
    private static void SweepStale(string userDirectory, uint uid)
    {
        foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(userDirectory))
        {
            var name = Path.GetFileName(entry);
            var dash = name.IndexOf('-');
            if (dash <= 0
                || !int.TryParse(name.Substring(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || PosixCalls.IsProcessAlive(pid)
                || !PosixCalls.TryLstat(entry, out var status, out _)
                || status.Type != PosixCalls.TypeDirectory
                || status.Uid != uid)
            {
                continue;
            }

            foreach (var file in System.IO.Directory.EnumerateFileSystemEntries(entry))
            {
                PosixCalls.Unlink(file);
            }

            PosixCalls.RemoveDirectory(entry);
        }
    }

    private static string CreatePoolDirectory(string userDirectory)
    {
        var pid = PosixCalls.GetPid().ToString(CultureInfo.InvariantCulture);
        using var random = RandomNumberGenerator.Create();
        var bytes = new byte[6];
        for (var attempt = 0; ; attempt++)
        {
            random.GetBytes(bytes);
            var path = Path.Combine(userDirectory, pid + "-" + BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant());
            var errno = PosixCalls.MakeDirectory(path, PrivateDirectoryMode);
            if (errno == 0)
            {
                PosixCalls.ChangeMode(path, PrivateDirectoryMode);
                return path;
            }

            if (errno != Errno.EEXIST || attempt == 10)
            {
                throw CannotCreate(path, errno);
            }
        }
    }

    private static JobserverException CannotCreate(string path, Errno errno) => new(
        JobserverRejection.FifoOpenFailed,
        "Cannot create the jobserver at " + path + ": " + PosixCalls.Describe(errno) + ". Point TMPDIR (or XDG_RUNTIME_DIR) at a writable local directory.");
}
