using System;
using System.IO;
using System.Linq;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>
/// The project the build was started on, read from the entry process's command line (or, like MSBuild does,
/// the one project file in the current directory). The end-of-build summary is logged when it finishes,
/// because a task has no other moment at which the whole build is known to be over.
/// </summary>
internal static class EntryProject
{
    /// <summary>
    /// True when <paramref name="projectFullPath"/> is the project the build was started on. Relative command-line
    /// paths are resolved against <paramref name="startupDirectory"/> ($(MSBuildStartupDirectory)), because MSBuild
    /// moves the current directory to each project's own while its tasks run. Only meaningful in the entry process:
    /// a worker node's command line names no project (ask Rendezvous.EntryProject there).
    /// </summary>
    public static bool Is(string projectFullPath, string startupDirectory) => Same(projectFullPath, Find(startupDirectory));

    /// <summary>True when <paramref name="projectFullPath"/> is <paramref name="entry"/> (a full path, or null when unknown).</summary>
    public static bool Same(string projectFullPath, string? entry) =>
        entry is not null && FullPathOrNull(projectFullPath) is { } full && string.Equals(full, entry, StringComparison.Ordinal);

    /// <summary>The full path of the project the entry process's command line names; null when it cannot tell.</summary>
    public static string? Find(string startupDirectory) => Find(startupDirectory, Environment.GetCommandLineArgs());

    /// <summary>The project <paramref name="args"/> (a command line, program first) names; null when it cannot tell.</summary>
    internal static string? Find(string startupDirectory, string[] args)
    {
        // Under the dotnet CLI (dotnet.dll) the first argument is its command (build, test, msbuild ...), not a path:
        // a directory of that name beside the project (a build/ folder) must not be taken for the project built.
        var underDotnetCli = args.Length > 0 && string.Equals(System.IO.Path.GetFileName(args[0]), "dotnet.dll", StringComparison.OrdinalIgnoreCase);
        foreach (var arg in args.Skip(underDotnetCli ? 2 : 1))
        {
            if (arg.StartsWith("-", StringComparison.Ordinal))
            {
                continue;
            }

            if (ProjectNamedBy(startupDirectory, arg) is { } named)
            {
                return named;
            }
        }

        return SingleProjectIn(startupDirectory);
    }

    // Any word of a command line may be an option's value (-o DIR, -bl:PATH) naming what this process cannot read, or a
    // path .NET Framework rejects (a '|'): such a word names no project, and nothing here may throw (MSB4018).
    private static string? ProjectNamedBy(string startupDirectory, string arg)
    {
        try
        {
            var path = System.IO.Path.Combine(startupDirectory, arg);
            if (IsProjectFile(path) && File.Exists(path))
            {
                return System.IO.Path.GetFullPath(path);
            }

            return Directory.Exists(path) ? SingleProjectIn(path) : null;
        }
        catch (Exception ex) when (IsPathFailure(ex))
        {
            return null;
        }
    }

    private static string? SingleProjectIn(string directory)
    {
        try
        {
            var projects = Directory.EnumerateFiles(directory).Where(IsProjectFile).Take(2).ToList();
            return projects.Count == 1 ? System.IO.Path.GetFullPath(projects[0]) : null;
        }
        catch (Exception ex) when (IsPathFailure(ex))
        {
            return null;
        }
    }

    private static string? FullPathOrNull(string path)
    {
        try
        {
            return System.IO.Path.GetFullPath(path);
        }
        catch (Exception ex) when (IsPathFailure(ex))
        {
            return null;
        }
    }

    private static bool IsPathFailure(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException;

    private static bool IsProjectFile(string path)
    {
        var extension = System.IO.Path.GetExtension(path);
        return extension.EndsWith("proj", StringComparison.OrdinalIgnoreCase)
            || string.Equals(extension, ".sln", StringComparison.OrdinalIgnoreCase)
            || string.Equals(extension, ".slnx", StringComparison.OrdinalIgnoreCase);
    }
}
