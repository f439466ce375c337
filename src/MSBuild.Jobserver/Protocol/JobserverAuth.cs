using System;
using System.Globalization;

namespace MSBuild.Jobserver.Protocol;

/// <summary>The three ways a jobserver is named in <c>--jobserver-auth=</c>.</summary>
public enum JobserverAuthKind
{
    /// <summary><c>R,W</c>: two inherited descriptors of one anonymous pipe.</summary>
    Pipe,

    /// <summary><c>fifo:PATH</c>: a named pipe any process can open (GNU make 4.4+, jobserver crate 0.1.26+).</summary>
    Fifo,

    /// <summary>A Windows named semaphore.</summary>
    Semaphore,
}

/// <summary>Where a jobserver lives, as advertised by <c>--jobserver-auth=</c>. Immutable.</summary>
public sealed class JobserverAuth : IEquatable<JobserverAuth>
{
    private JobserverAuth(JobserverAuthKind kind, int readFd, int writeFd, string? name)
    {
        Kind = kind;
        ReadFd = readFd;
        WriteFd = writeFd;
        Name = name;
    }

    /// <summary>Which form this is.</summary>
    public JobserverAuthKind Kind { get; }

    /// <summary>The read descriptor (<see cref="JobserverAuthKind.Pipe"/> only, else -1).</summary>
    public int ReadFd { get; }

    /// <summary>The write descriptor (<see cref="JobserverAuthKind.Pipe"/> only, else -1).</summary>
    public int WriteFd { get; }

    /// <summary>The FIFO path or the semaphore name; null for <see cref="JobserverAuthKind.Pipe"/>.</summary>
    public string? Name { get; }

    /// <summary>The FIFO path (<see cref="JobserverAuthKind.Fifo"/> only).</summary>
    public string? Path => Kind == JobserverAuthKind.Fifo ? Name : null;

    /// <summary>A pipe-form jobserver on descriptors <paramref name="readFd"/>, <paramref name="writeFd"/>.</summary>
    public static JobserverAuth Pipe(int readFd, int writeFd) => new(JobserverAuthKind.Pipe, readFd, writeFd, null);

    /// <summary>A FIFO-form jobserver at <paramref name="path"/>.</summary>
    public static JobserverAuth Fifo(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new ArgumentException("A FIFO jobserver needs a path.", nameof(path));
        }

        return new(JobserverAuthKind.Fifo, -1, -1, path);
    }

    /// <summary>A Windows semaphore-form jobserver named <paramref name="name"/>.</summary>
    public static JobserverAuth Semaphore(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("A semaphore jobserver needs a name.", nameof(name));
        }

        return new(JobserverAuthKind.Semaphore, -1, -1, name);
    }

    /// <summary>The value that follows <c>--jobserver-auth=</c>: <c>3,4</c>, <c>fifo:/path</c> or the semaphore name.</summary>
    public string ToAuthString() => Kind switch
    {
        JobserverAuthKind.Pipe => ReadFd.ToString(CultureInfo.InvariantCulture) + "," + WriteFd.ToString(CultureInfo.InvariantCulture),
        JobserverAuthKind.Fifo => "fifo:" + Name,
        _ => Name!,
    };

    /// <inheritdoc/>
    public override string ToString() => ToAuthString();

    /// <inheritdoc/>
    public bool Equals(JobserverAuth? other) =>
        other is not null && other.Kind == Kind && other.ReadFd == ReadFd && other.WriteFd == WriteFd && string.Equals(other.Name, Name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as JobserverAuth);

    /// <inheritdoc/>
    public override int GetHashCode() => (Kind, ReadFd, WriteFd, Name).GetHashCode();
}
