using System;
using System.Threading;
using BenchmarkDotNet.Attributes;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Micro;

/// <summary>
/// Token acquire + release on our pool, next to the raw pipe floor, in the same run
/// (issue 4 target: our round trip ≤ 2× the raw pipe round trip).
/// Every pool holds exactly one token, so each operation is: take it, give it back.
/// </summary>
[MemoryDiagnoser]
public class TokenRoundTrip
{
    private readonly RawPipe _pipe = new();
    private readonly RawPipe _makePipe = new();
    private readonly RawPipe _rawFifo = new();
    private JobTokenPool _pool = null!;
    private JobTokenPool _rawPool = null!;
    private JobserverClient _fifoClient = null!;
    private JobserverClient _pipeClient = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pipe.Open();

        // Our pool (a private FIFO), and a client connected the way worker nodes connect to it.
        _pool = PoolPlatform.CreatePool(1);
        _fifoClient = PoolPlatform.ConnectToValidated(_pool.Auth.Path!, _pool.Identity!.Value);

        // The same kind of FIFO (a second pool, same directory), used with bare libc calls: separates
        // the cost of a named FIFO on this file system from the cost of our code.
        _rawPool = PoolPlatform.CreatePool(1);
        _rawFifo.OpenFifo(_rawPool.Auth.Path!);
        Console.WriteLine("// pool FIFO: " + _pool.Auth.Path);

        // A make-style pool: an anonymous pipe without FD_CLOEXEC holding one token, advertised as
        // --jobserver-auth=R,W, connected through validation (on Linux: reopened via /proc/self/fd).
        _makePipe.Open();
        _pipeClient = PoolPlatform.Connect(JobserverAuth.Pipe(_makePipe.ReadFd, _makePipe.WriteFd));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fifoClient.Dispose();
        var report = _pool.Close();
        Console.WriteLine("// pool close: " + report);
        _rawFifo.Dispose();
        Console.WriteLine("// raw pool close: " + _rawPool.Close());
        _pipeClient.Dispose();
        _makePipe.Dispose();
        _pipe.Dispose();
    }

    /// <summary>Physical floor: read(2) + write(2) of one byte on a pipe, direct libc calls.</summary>
    [Benchmark(Baseline = true, Description = "raw pipe read+write (libc)")]
    public byte RawPipeLibc() => _pipe.RoundTripLibc();

    /// <summary>The same through Mono.Posix.NETStandard (the library our protocol code uses).</summary>
    [Benchmark(Description = "raw pipe read+write (Mono.Posix)")]
    public byte RawPipeMonoPosix() => _pipe.RoundTripMonoPosix();

    /// <summary>read(2) + write(2) on a pool's FIFO, direct libc calls: the floor for a FIFO-based pool.</summary>
    [Benchmark(Description = "raw FIFO read+write (libc, pool's FIFO)")]
    public byte RawFifoLibc() => _rawFifo.RoundTripLibc();

    /// <summary>PoolPlatform.CreatePool + PoolPlatform.ConnectToValidated: Acquire, then Release.</summary>
    [Benchmark(Description = "our pool: Acquire+Release (FIFO)")]
    public byte PoolAcquireRelease()
    {
        var token = _fifoClient.Acquire(CancellationToken.None);
        _fifoClient.Release(token);
        return token.Value;
    }

    /// <summary>The same with TryAcquire (no wait loop).</summary>
    [Benchmark(Description = "our pool: TryAcquire+Release (FIFO)")]
    public byte PoolTryAcquireRelease()
    {
        if (!_fifoClient.TryAcquire(out var token))
        {
            throw new InvalidOperationException("the pool's only token is missing");
        }

        _fifoClient.Release(token);
        return token.Value;
    }

    /// <summary>PoolPlatform.Connect on a make-style R,W pipe: Acquire, then Release.</summary>
    [Benchmark(Description = "make-style pipe: Acquire+Release (Connect R,W)")]
    public byte PipeAcquireRelease()
    {
        var token = _pipeClient.Acquire(CancellationToken.None);
        _pipeClient.Release(token);
        return token.Value;
    }
}
