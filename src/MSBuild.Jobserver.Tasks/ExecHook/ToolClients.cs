using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.ExecHook;

/// <summary>
/// Which jobserver form the client behind a command reads, where the command alone does not say: <c>cmake --build</c>
/// runs the build tree's generator tool (ninja reads only <c>fifo:</c>, make 4.3 only descriptors), and a ninja older
/// than 1.13 or a make older than 4.4 cannot use the <c>fifo:</c> form at all. Versions are asked once per program
/// file and process (<c>--version</c>).
/// </summary>
internal static class ToolClients
{
    private static readonly ConcurrentDictionary<string, Version?> Versions = new(StringComparer.Ordinal);
    private static readonly Regex VersionPattern = new(@"(\d+)\.(\d+)(?:\.(\d+))?", RegexOptions.CultureInvariant);
    private static readonly string[] MakeNames = { "make", "gmake", "mingw32-make" };

    /// <summary>
    /// The MAKEFLAGS form for <paramref name="tool"/> as run by <paramref name="command"/>, and the problem to report
    /// when its client cannot use the pool: (code, message), or null.
    /// </summary>
    public static (MakeflagsForm Form, (string Code, string Message)? Problem) Resolve(
        JobserverToolSpec tool, string command, string workingDirectory, string? path)
    {
        var form = tool.Form;
        var program = tool.Name;
        if (string.Equals(tool.Name, "cmake", StringComparison.OrdinalIgnoreCase) && FromFileSystem(() => BuildTreeProgram(command, workingDirectory)) is { } generatorTool)
        {
            program = generatorTool;
            form = IsNinja(program) ? MakeflagsForm.Fifo : MakeflagsForm.Descriptors;
        }

        if (form != MakeflagsForm.Fifo || FromFileSystem(() => Locate(program, path)) is not { } file)
        {
            return (form, null);
        }

        var version = VersionOf(file);
        if (IsNinja(file) && version is not null && version < new Version(1, 13))
        {
            return (form, (DiagnosticCode.ToolNotAClient,
                $"{file} is ninja {version}, which is not a jobserver client (1.13 is the first): its jobs run beside the build's pool, as many as it likes. Install ninja 1.13 or later (pip install ninja), or cap it with -j."));
        }

        if (MakeNames.Contains(NameWithoutExtension(file), StringComparer.OrdinalIgnoreCase) && version is not null && version < new Version(4, 4))
        {
            return (MakeflagsForm.Descriptors, (DiagnosticCode.ToolCannotReadFifo,
                $"{file} is GNU make {version}, which cannot read the fifo: form (4.4 is the first), so it is handed the descriptor form instead. Remove MakeflagsForm=\"fifo\" from its JobserverTool item, or install GNU make 4.4 or later."));
        }

        return (form, null);
    }

    // The tool a `cmake --build DIR` runs, from DIR/CMakeCache.txt; null when the command is not one or says no more.
    private static string? BuildTreeProgram(string command, string workingDirectory)
    {
        var words = command.Split(new[] { ' ', '\t', '\n', '\r' }, StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim('"', '\'')).ToList();
        var at = words.IndexOf("--build");
        if (at < 0 || at + 1 >= words.Count)
        {
            return null;
        }

        var cache = Path.Combine(workingDirectory, words[at + 1], "CMakeCache.txt");
        if (!File.Exists(cache))
        {
            return null;
        }

        string? generator = null, makeProgram = null;
        foreach (var line in File.ReadLines(cache))
        {
            generator ??= ValueOf(line, "CMAKE_GENERATOR:");
            makeProgram ??= ValueOf(line, "CMAKE_MAKE_PROGRAM:");
        }

        return makeProgram is { Length: > 0 } ? makeProgram : generator?.StartsWith("Ninja", StringComparison.Ordinal) == true ? "ninja" : generator is null ? null : "make";
    }

    // A path that cannot be read or is not a path on this system (an unreadable cache, a PATH entry with characters
    // .NET Framework refuses) tells nothing: the tool keeps the form its item gives.
    private static string? FromFileSystem(Func<string?> probe)
    {
        try
        {
            return probe();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    private static string? ValueOf(string line, string key)
    {
        if (!line.StartsWith(key, StringComparison.Ordinal))
        {
            return null;
        }

        var eq = line.IndexOf('=');
        return eq < 0 ? null : line.Substring(eq + 1).Trim();
    }

    private static bool IsNinja(string program) =>
        string.Equals(NameWithoutExtension(program), "ninja", StringComparison.OrdinalIgnoreCase)
        || FileName(program).StartsWith("ninja-", StringComparison.OrdinalIgnoreCase);

    // Not Path's: on .NET Framework they throw for a name holding '|', '<', '>' or '"' (a CMakeCache.txt may say anything).
    private static string FileName(string path) => path.Substring(path.LastIndexOfAny(new[] { '/', '\\' }) + 1);

    private static string NameWithoutExtension(string path)
    {
        var name = FileName(path);
        var dot = name.LastIndexOf('.');
        return dot > 0 ? name.Substring(0, dot) : name;
    }

    private static string? Locate(string program, string? path)
    {
        if (program.IndexOf('/') >= 0 || program.IndexOf('\\') >= 0)
        {
            return File.Exists(program) ? program : null;
        }

        foreach (var directory in (path ?? "").Split(Path.PathSeparator).Where(d => d.Length > 0))
        {
            foreach (var name in new[] { program, program + ".exe" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    // The first version number `file --version` prints; null when it prints none or does not answer in 5 s.
    private static Version? VersionOf(string file)
    {
        var key = file + "|" + File.GetLastWriteTimeUtc(file).Ticks;
        return Versions.GetOrAdd(key, _ =>
        {
            try
            {
                using var process = Process.Start(new ProcessStartInfo(file, "--version")
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                });
                if (process is null)
                {
                    return null;
                }

                var output = process.StandardOutput.ReadToEndAsync();
                if (!process.WaitForExit(5000))
                {
                    process.Kill();
                    return null;
                }

                var match = VersionPattern.Match(output.Result);
                int Part(int group) => match.Groups[group].Success ? int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
                return match.Success ? new Version(Part(1), Part(2), Part(3)) : null;
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or OverflowException or System.ComponentModel.Win32Exception)
            {
                return null;
            }
        });
    }
}
