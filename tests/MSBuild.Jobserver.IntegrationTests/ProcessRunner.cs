using System.Diagnostics;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>The end of a process the tests ran: exit code, everything it printed (stdout and stderr merged), time taken.</summary>
internal sealed record ProcessOutcome(int ExitCode, string Output, TimeSpan Elapsed, string OutputFile)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s; output in {OutputFile}";
}

/// <summary>
/// Runs a command with a controlled environment and a time limit. Output goes to a file, not a pipe: MSBuild worker
/// nodes kept for reuse inherit the entry process's output and would hold a pipe open long after the build ends.
/// </summary>
internal static class ProcessRunner
{
    /// <summary>
    /// Variables a test's child must never inherit from the test host: a parent's jobserver, the package's own
    /// internals, MSBuild/SDK locations set by `dotnet test`, cargo settings that would change what is measured.
    /// </summary>
    private static readonly string[] Scrubbed =
    {
        "MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR", "MAKEOVERRIDES",
        "MSBUILD_JOBSERVER_FIFO", "MSBUILD_JOBSERVER_PROJECT",
        "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly", "MSBUILDNOINPROCNODE",
        "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "CARGO_BUILD_TARGET_DIR", "RUSTFLAGS",
        "XDG_RUNTIME_DIR", "TMPDIR",
    };

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> in <paramref name="workingDirectory"/> (see
    /// <see cref="StartInfo"/>). After <paramref name="timeout"/> the whole process tree is killed and the test fails.
    /// </summary>
    public static ProcessOutcome Run(string file, IEnumerable<string> args, string workingDirectory, string outputFile,
        IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(StartInfo(file, args, workingDirectory, outputFile, environment)) ?? throw new InvalidOperationException("could not start " + file);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"'{file} {string.Join(' ', args)}' did not finish within {timeout.TotalSeconds:0} s and was killed. Output:\n{Tail(ReadOutput(outputFile))}");
        }

        clock.Stop();
        return new ProcessOutcome(process.ExitCode, ReadOutput(outputFile), clock.Elapsed, outputFile);
    }

    /// <summary>
    /// How to start <paramref name="file"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>, its
    /// output (stdout and stderr) to <paramref name="outputFile"/>; the environment is the test host's, scrubbed (see
    /// above), then overlaid with <paramref name="environment"/> (a null value removes the variable).
    /// </summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, string workingDirectory, string outputFile,
        IReadOnlyDictionary<string, string?> environment)
    {
        // sh opens the output file and execs the command, so the process we wait for is the command itself.
        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >\"$JBS_OUTPUT_FILE\" 2>&1 </dev/null");
        info.ArgumentList.Add(file);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in Scrubbed)
        {
            info.Environment.Remove(name);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        info.Environment["JBS_OUTPUT_FILE"] = outputFile;
        Directory.CreateDirectory(Path.GetDirectoryName(outputFile)!);
        return info;
    }

    /// <summary>The last lines of a long output, for assertion messages.</summary>
    public static string Tail(string text, int lines = 60)
    {
        var all = text.Split('\n');
        return all.Length <= lines ? text : "...\n" + string.Join('\n', all[^lines..]);
    }

    private static string ReadOutput(string path)
    {
        // Shared read: a reused worker node may still hold the file open for writing.
        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
