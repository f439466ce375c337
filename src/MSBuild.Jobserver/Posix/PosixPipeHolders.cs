using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// Finds, through <c>/proc</c>, the build servers (MSBuild worker nodes, the MSBuild server, VBCSCompiler) that hold a
/// pipe the package hid in this process with the descriptor still inheritable: processes started before the package
/// could act in the process that started them, and that ran none of its tasks since. Those keep a parent make
/// waiting until they exit. A process that hid it (close-on-exec set) closes it when the build ends there.
/// </summary>
internal static class PosixPipeHolders
{
    private const int CloseOnExecFlag = 0x80000; // O_CLOEXEC as /proc/PID/fdinfo shows it (octal 02000000)

    /// <summary>The build servers other than this process that hold one of <paramref name="pipes"/> inheritably.</summary>
    public static IReadOnlyList<PipeHolder> Lingering(IReadOnlyCollection<PipeIdentity> pipes)
    {
        var result = new List<PipeHolder>();
        if (pipes.Count == 0 || !PosixPoolPlatform.HasProcDescriptorPaths)
        {
            return result;
        }

        var inodes = new HashSet<string>(pipes.Select(p => "pipe:[" + p.Inode.ToString(CultureInfo.InvariantCulture) + "]"), StringComparer.Ordinal);
        foreach (var directory in SafeEnumerate("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || pid == ProcessInfo.CurrentId
                || KindOf(ReadText(Path.Combine(directory, "cmdline"))) is not { } kind)
            {
                continue;
            }

            if (HoldsInheritably(directory, inodes))
            {
                result.Add(new PipeHolder(pid, kind));
            }
        }

        return result;
    }

    private static string? KindOf(string commandLine) =>
        commandLine.IndexOf("VBCSCompiler", StringComparison.Ordinal) >= 0 ? "the C# compiler server (VBCSCompiler)"
        : commandLine.IndexOf("nodemode:8", StringComparison.OrdinalIgnoreCase) >= 0 ? "the MSBuild server"
        : commandLine.IndexOf("nodemode:", StringComparison.OrdinalIgnoreCase) >= 0 ? "an MSBuild worker node"
        : null;

    private static bool HoldsInheritably(string processDirectory, HashSet<string> inodes)
    {
        foreach (var link in SafeEnumerate(Path.Combine(processDirectory, "fd")))
        {
            var target = PosixCalls.TryReadLink(link);
            if (target is not null && inodes.Contains(target) && !IsCloseOnExec(Path.Combine(processDirectory, "fdinfo", Path.GetFileName(link))))
            {
                return true;
            }
        }

        return false;
    }

    // fdinfo's "flags:" line is the open flags in octal, O_CLOEXEC included when the descriptor has it.
    private static bool IsCloseOnExec(string fdinfo)
    {
        foreach (var line in ReadText(fdinfo).Split('\n'))
        {
            if (line.StartsWith("flags:", StringComparison.Ordinal))
            {
                try
                {
                    return (Convert.ToInt32(line.Substring(6).Trim(), 8) & CloseOnExecFlag) != 0;
                }
                catch (FormatException)
                {
                    return false;
                }
            }
        }

        return false;
    }

    private static IEnumerable<string> SafeEnumerate(string directory)
    {
        try
        {
            return Directory.GetFileSystemEntries(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
