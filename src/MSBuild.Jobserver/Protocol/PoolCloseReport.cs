using System;

namespace MSBuild.Jobserver.Protocol;

/// <summary>What a pool held when it was closed, compared with what it should have held.</summary>
public sealed class PoolCloseReport
{
    /// <summary>Creates a report of <paramref name="found"/> tokens where <paramref name="expected"/> were due.</summary>
    public PoolCloseReport(int expected, int found)
    {
        Expected = expected;
        Found = found;
    }

    /// <summary>The pool's size: every token should be back by the time it closes.</summary>
    public int Expected { get; }

    /// <summary>The tokens that were in the pool at close.</summary>
    public int Found { get; }

    /// <summary>Tokens never given back (a tool that died holding them, or a client that leaked them).</summary>
    public int Missing => Math.Max(0, Expected - Found);

    /// <summary>Tokens given back that were never taken (a client that wrote more than it read).</summary>
    public int Extra => Math.Max(0, Found - Expected);

    /// <inheritdoc/>
    public override string ToString() => "expected " + Expected + " tokens, found " + Found;
}
