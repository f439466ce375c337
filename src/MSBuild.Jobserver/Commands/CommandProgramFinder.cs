using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MSBuild.Jobserver.Commands;

/// <summary>
/// Names the programs a shell command line runs: the first word of each simple command (after `&amp;&amp;`, `||`,
/// `;`, `|`, newlines and parentheses), past variable assignments and wrappers such as env, exec, time, nice.
/// Good enough to recognise `cd x &amp;&amp; CARGO_TARGET_DIR=t cargo build`; not a shell parser.
/// </summary>
public static class CommandProgramFinder
{
    private static readonly HashSet<string> Wrappers = new(StringComparer.OrdinalIgnoreCase)
    {
        "env", "exec", "time", "nice", "nohup", "command", "call", "then", "do", "else", "!", "sudo", "doas", "run0", "pkexec", "xargs", "stdbuf",
    };

    /// <summary>The bare program names (no directory, no .exe/.cmd/.bat) of every simple command.</summary>
    public static IReadOnlyList<string> Programs(string command) => Commands(command).Select(c => c.Program).ToList();

    /// <summary>Every simple command: its program, as <see cref="Programs"/> names it, and the words after it (quotes removed).</summary>
    public static IReadOnlyList<SimpleCommand> Commands(string command)
    {
        var commands = new List<SimpleCommand>();
        List<string>? arguments = null;
        foreach (var (word, isOperator) in Words(command))
        {
            if (isOperator)
            {
                arguments = null;
            }
            else if (arguments is not null)
            {
                arguments.Add(word);
            }
            else if (!IsAssignment(word) && !word.StartsWith("-", StringComparison.Ordinal)
                && BareName(word) is { Length: > 0 } name && !Wrappers.Contains(name))
            {
                arguments = new List<string>();
                commands.Add(new SimpleCommand(name, arguments));
            }
        }

        return commands;
    }

    /// <summary>Like <see cref="Programs"/>, with the wrappers (sudo, env, time ...) in front of them included.</summary>
    public static IReadOnlyList<string> AllPrograms(string command)
    {
        var programs = new List<string>();
        var atCommandStart = true;
        foreach (var (word, isOperator) in Words(command))
        {
            if (isOperator)
            {
                atCommandStart = true;
                continue;
            }

            if (!atCommandStart || IsAssignment(word) || word.StartsWith("-", StringComparison.Ordinal))
            {
                continue;
            }

            var name = BareName(word);
            if (Wrappers.Contains(name))
            {
                programs.Add(name);
                continue;
            }

            if (name.Length > 0)
            {
                programs.Add(name);
            }

            atCommandStart = false;
        }

        return programs;
    }

    private static bool IsAssignment(string word)
    {
        var eq = word.IndexOf('=');
        return eq > 0 && word.IndexOfAny(new[] { '/', '\\' }, 0, eq) < 0;
    }

    private static string BareName(string word)
    {
        // Not Path.GetFileName: on .NET Framework it throws for a word holding '|', '<', '>' or '"'.
        var name = word.Substring(word.LastIndexOfAny(new[] { '/', '\\' }) + 1);
        foreach (var ext in new[] { ".exe", ".cmd", ".bat" })
        {
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
            {
                return name.Substring(0, name.Length - ext.Length);
            }
        }

        return name;
    }

    // Splits into words (quotes removed) and operators; an operator is any of ; & | ( ) or a line break.
    private static IEnumerable<(string Word, bool IsOperator)> Words(string command)
    {
        var word = new StringBuilder();
        char quote = '\0';
        foreach (var c in command)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }

                continue;
            }

            if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c is ';' or '&' or '|' or '(' or ')' or '\n' or '\r')
            {
                if (word.Length > 0)
                {
                    yield return (word.ToString(), false);
                    word.Clear();
                }

                yield return (c.ToString(), true);
            }
            else if (char.IsWhiteSpace(c))
            {
                if (word.Length > 0)
                {
                    yield return (word.ToString(), false);
                    word.Clear();
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            yield return (word.ToString(), false);
        }
    }
}

/// <summary>One simple command of a command line: the program it runs and the words after it.</summary>
public sealed record SimpleCommand(string Program, IReadOnlyList<string> Arguments);
