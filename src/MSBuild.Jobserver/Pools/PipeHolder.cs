namespace MSBuild.Jobserver.Pools;

/// <summary>A process that outlives the build and holds a parent's jobserver pipe it inherited.</summary>
public sealed record PipeHolder(int ProcessId, string Kind);

