using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Commands;

/// <summary>
/// What a command line does with descriptors, as far as the hand-over cares: which numbers it names (so the pool is
/// opened on others: <c>( flock 9; make ) 9&gt;lock</c> must not get tokens written into its lock file), and which
/// layers in front of its programs close inherited descriptors (<c>sudo</c> and sandboxes), so a descriptor-form
/// pool would never reach the tool.
/// </summary>
internal static class CommandDescriptors
{
    /// <summary>Programs that close every inherited descriptor above 2 before they run the command they wrap.</summary>
    private static readonly HashSet<string> ClosingLayers = new(StringComparer.OrdinalIgnoreCase)
    {
        "sudo", "doas", "su", "run0", "pkexec", "bwrap", "firejail", "flatpak-spawn", "systemd-run", "ssh",
    };

    // A number right before a redirection operator (9>lock, 3<&0, 8<>f), a number after a duplication (>&9, <&8),
    // or a descriptor path (/dev/fd/9, /proc/self/fd/9).
    private static readonly Regex Named = new(
        @"(?<![\w$}])(?<fd>\d+)(?=<>|>>|>&|<&|>\||<|>)|[<>]&(?<fd>\d+)|/dev/fd/(?<fd>\d+)|/proc/(?:self|\$\$|\d+)/fd/(?<fd>\d+)",
        RegexOptions.CultureInvariant);

    /// <summary>The descriptor numbers <paramref name="command"/> names.</summary>
    public static ISet<int> NamedBy(string command)
    {
        var numbers = new HashSet<int>();
        foreach (Match match in Named.Matches(command))
        {
            if (int.TryParse(match.Groups["fd"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
            {
                numbers.Add(fd);
            }
        }

        return numbers;
    }

    /// <summary>
    /// Two descriptor numbers for the pool's read and write ends, from 3 to 9 (a POSIX shell such as dash redirects only
    /// single-digit descriptors), that <paramref name="command"/> does not name and that the command's shell does not
    /// inherit from this process (a descriptor the build's own parent left open: <c>( flock 9; dotnet build ) 9&gt;lock</c>,
    /// whose inner commands still use it); null when none are left.
    /// </summary>
    public static (int Read, int Write)? FreePair(string command) => FreePair(command, PassesToChildren);

    /// <summary>As <see cref="FreePair(string)"/>, with <paramref name="inherited"/> saying which numbers the shell inherits.</summary>
    internal static (int Read, int Write)? FreePair(string command, Func<int, bool> inherited)
    {
        // The two highest free numbers from 9 down to 3 (a loop: LINQ here costs every tool run its JIT).
        var named = NamedBy(command);
        int? high = null;
        for (var fd = 9; fd >= 3; fd--)
        {
            if (named.Contains(fd) || inherited(fd))
            {
                continue;
            }

            if (high is null)
            {
                high = fd;
            }
            else
            {
                return (fd, high.Value);
            }
        }

        return null;
    }

    private static bool PassesToChildren(int descriptor)
    {
        try
        {
            return PoolPlatform.Current.PassesToChildren(descriptor);
        }
        catch (JobserverException)
        {
            // No POSIX helper here (JOBS0015 says so elsewhere): nothing can be known, nothing is avoided.
            return false;
        }
    }

    /// <summary>The first program of <paramref name="command"/> that closes inherited descriptors, or null.</summary>
    public static string? ClosingLayer(string command) =>
        CommandProgramFinder.AllPrograms(command).FirstOrDefault(ClosingLayers.Contains);
}
