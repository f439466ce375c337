using System;

namespace MSBuild.Jobserver.Commands;

/// <summary>
/// Exec's arguments on Unix, <c>-c ". &lt;script&gt;"</c> for sh (ToolTask may put a space in front), and the two
/// edits the package makes to them. The script's path is put in as a file name for a command line (double-quoted
/// when it holds a space, inside the double-quoted -c argument), so .NET splits a path with a space into two
/// arguments and sh never sees a quoted path: <see cref="QuoteScriptPath"/> rewrites only that path, single-quoted
/// for sh. <see cref="Prepend"/> puts a shell line (opening the pool's descriptors) in front of the script, so only
/// that command's shell runs it.
/// </summary>
public static class ExecShellArguments
{
    private const string ShellPrefix = "-c \"";
    private const string Source = ". ";

    /// <summary>
    /// The arguments with the script's path quoted for sh, or null when they are not Exec's shell form or no reading
    /// of them names an existing script (then they stay as Exec made them).
    /// </summary>
    public static string? QuoteScriptPath(string arguments, Func<string, bool> scriptExists)
    {
        var trimmed = arguments.TrimStart();
        if (!trimmed.StartsWith(ShellPrefix, StringComparison.Ordinal) || !trimmed.EndsWith("\"", StringComparison.Ordinal))
        {
            return null;
        }

        var body = trimmed.Substring(ShellPrefix.Length, trimmed.Length - ShellPrefix.Length - 1);

        // The script is sourced by the first `. ` that starts the body or follows `; ` (Exec may export a locale
        // first); a path can hold `. ` too, so each candidate must name the script that exists.
        for (var at = body.IndexOf(Source, StringComparison.Ordinal); at >= 0; at = body.IndexOf(Source, at + 1, StringComparison.Ordinal))
        {
            if (at != 0 && !body.Substring(0, at).EndsWith("; ", StringComparison.Ordinal))
            {
                continue;
            }

            var path = ReadFileName(body.Substring(at + Source.Length));
            if (path.Length > 0 && scriptExists(path))
            {
                // The sh word holds no `"`, and its only backslashes stand before `'`: .NET passes it on unchanged.
                return ShellPrefix + body.Substring(0, at + Source.Length) + ForSh(path) + "\"";
            }
        }

        return null;
    }

    /// <summary>True for Exec's shell form, the one <see cref="Prepend"/> can extend.</summary>
    public static bool IsShellForm(string arguments) => arguments.TrimStart().StartsWith(ShellPrefix, StringComparison.Ordinal);

    /// <summary>The arguments with <paramref name="line"/> run first, in the same shell; see <see cref="IsShellForm"/>.</summary>
    public static string Prepend(string arguments, string line) =>
        ShellPrefix + line.Replace("\"", "\\\"") + "; " + arguments.TrimStart().Substring(ShellPrefix.Length);

    /// <summary>A word sh reads back as exactly <paramref name="text"/>: single quotes, each <c>'</c> as <c>'\''</c>.</summary>
    public static string ForSh(string text) => "'" + text.Replace("'", "'\\''") + "'";

    // A file name as MSBuild's command-line builder writes it: bare, or in double quotes when it holds a space. The
    // builder refuses a name with `"` and turns `\` into `/`, so a name that still holds one is not Exec's script.
    private static string ReadFileName(string written)
    {
        var name = written.Length >= 2 && written[0] == '"' && written[written.Length - 1] == '"' ? written.Substring(1, written.Length - 2) : written;
        return name.IndexOfAny(['"', '\\']) >= 0 ? "" : name;
    }
}
