using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.Commands;

/// <summary>
/// Commands that only ask a jobserver client something (a version, a path, the workspace's metadata) and run no job:
/// they need no token, so they never wait behind compiles. A command is a query when it runs a listed tool and every
/// simple command that runs one is a query of that tool. docs/configuration.md lists the forms; anything else is a
/// job, which costs at most a wait.
/// </summary>
public static class QueryCommands
{
    // What any tool answers without working: `tool --version` and its spellings, alone.
    private static readonly HashSet<string> VersionOrHelp = new(StringComparer.Ordinal) { "--version", "-V", "-vV", "--help", "-h" };

    // cargo subcommands that resolve the workspace at most and compile nothing.
    private static readonly HashSet<string> CargoQueries = new(StringComparer.Ordinal)
    {
        "metadata", "locate-project", "pkgid", "version", "verify-project", "read-manifest", "tree", "help",
    };

    // cargo options before the subcommand that take the next word as their value.
    private static readonly HashSet<string> CargoValueOptions = new(StringComparer.Ordinal) { "--config", "-Z", "--color", "-C" };

    // rustc prints that come out of a compile (the link step), not instead of one.
    private static readonly HashSet<string> RustcCompilePrints = new(StringComparer.Ordinal) { "native-static-libs", "link-args" };

    private static readonly HashSet<string> MakeNames = new(StringComparer.OrdinalIgnoreCase) { "make", "gmake", "mingw32-make" };

    // A redirection word: `>f`, `2>>f`, `<f`, or `>` alone, whose target is the next word.
    private static readonly Regex Redirection = new(@"^\d*(?:>>?|<)(?<target>.*)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// True when <paramref name="command"/> runs at least one program <paramref name="isListed"/> accepts and every
    /// such simple command only asks.
    /// </summary>
    public static bool IsQuery(string command, Func<string, bool> isListed)
    {
        var listed = CommandProgramFinder.Commands(command).Where(c => isListed(c.Program)).ToList();
        return listed.Count > 0 && listed.All(c => IsQuery(c.Program, WithoutRedirections(c.Arguments)));
    }

    private static bool IsQuery(string program, IReadOnlyList<string> arguments)
    {
        if (arguments.Count == 1 && VersionOrHelp.Contains(arguments[0]))
        {
            return true;
        }

        return program.ToLowerInvariant() switch
        {
            "rustc" => IsRustcQuery(arguments),
            "cargo" => IsCargoQuery(arguments),
            "cmake" => arguments.Count == 2 && arguments[0] == "-E" && arguments[1] == "capabilities",
            "ninja" => arguments.Count >= 2 && arguments[0] == "-t",
            _ => MakeNames.Contains(program) && arguments.Count == 1 && arguments[0] == "-v",
        };
    }

    // rustc answers a version or help flag, or --print requests other than those printed while linking, and stops.
    private static bool IsRustcQuery(IReadOnlyList<string> arguments)
    {
        if (arguments.Any(a => VersionOrHelp.Contains(a) || a == "--explain" || a.StartsWith("--explain=", StringComparison.Ordinal)))
        {
            return true;
        }

        var prints = new List<string>();
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "--print" && i + 1 < arguments.Count)
            {
                prints.Add(arguments[++i]);
            }
            else if (arguments[i].StartsWith("--print=", StringComparison.Ordinal))
            {
                prints.Add(arguments[i].Substring("--print=".Length));
            }
        }

        // `--print KIND=PATH` writes the answer to a file.
        return prints.Count > 0 && !prints.Any(p => RustcCompilePrints.Contains(p.Split('=')[0]));
    }

    // cargo's first word that is not an option (nor an option's value, nor a +toolchain) is its subcommand.
    private static bool IsCargoQuery(IReadOnlyList<string> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            var word = arguments[i];
            if (CargoValueOptions.Contains(word))
            {
                i++;
            }
            else if (word is "--list" || VersionOrHelp.Contains(word))
            {
                return true;
            }
            else if (!word.StartsWith("-", StringComparison.Ordinal) && !word.StartsWith("+", StringComparison.Ordinal))
            {
                return CargoQueries.Contains(word);
            }
        }

        return false;
    }

    private static List<string> WithoutRedirections(IReadOnlyList<string> arguments)
    {
        var kept = new List<string>();
        for (var i = 0; i < arguments.Count; i++)
        {
            var match = Redirection.Match(arguments[i]);
            if (!match.Success)
            {
                kept.Add(arguments[i]);
            }
            else if (match.Groups["target"].Length == 0)
            {
                i++;
            }
        }

        return kept;
    }
}
