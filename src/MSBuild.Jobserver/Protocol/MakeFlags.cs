using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;

namespace MSBuild.Jobserver.Protocol;

/// <summary>Reads and writes the jobserver advertisement in MAKEFLAGS, MFLAGS and cargo's CARGO_MAKEFLAGS.</summary>
/// <remarks>
/// <para>A value is read the way GNU make reads it, never more generously:</para>
/// <list type="bullet">
/// <item>Words are split at ASCII whitespace; make's backslash escapes are not undone (make never writes one in a
/// jobserver word).</item>
/// <item>Reading stops at a <c>--</c> word: what follows are variable definitions, so
/// <c>-- FOO=--jobserver-auth=1,2</c> advertises nothing.</item>
/// <item>Only whole words that start with <c>--jobserver-auth</c> or <c>--jobserver-fds</c> are jobserver words.
/// The last <c>--jobserver-auth</c> word counts; <c>--jobserver-fds</c> (make before 4.2) only when there is none.
/// Earlier jobserver words are not read at all.</item>
/// <item>A jobserver value containing a comma is <c>R,W</c>: each part is an optional '-' and decimal digits that
/// fit an <see cref="int"/>. A value starting with <c>fifo:</c> (case-sensitive, like make) is a FIFO; any path that
/// is not empty is accepted here. Anything else that is not a bare number is a semaphore name, whatever the
/// platform.</item>
/// <item>A bare <c>--jobserver-auth</c> whose value is the next word is an error: make accepts it, but the Rust
/// jobserver crate and ninja read only the <c>=</c> form, so the tools below this build would disagree.</item>
/// <item>The first word, when it does not start with '-' and has no '=', is make's word of single-letter flags.
/// It and every <c>-xyz</c> word are read as clusters of short options, as make's getopt does: <c>n</c> means a dry
/// run, <c>j</c> takes the rest of the word (or a next word made of digits) as its count, and the letters of the
/// options that take an argument (<c>C E I O W f l o</c>) end the cluster, so <c>-Inc</c> is not a dry run.</item>
/// <item>A count that is not a positive decimal <see cref="int"/> (<c>-j0</c>, <c>-jx</c>) is ignored, as make
/// rejects it.</item>
/// </list>
/// </remarks>
public static class MakeFlags
{
    /// <summary>The option that names a jobserver (make 4.2+).</summary>
    internal const string AuthOption = "--jobserver-auth";

    /// <summary>The option that named a jobserver before make 4.2; still read when there is no <see cref="AuthOption"/>.</summary>
    internal const string FdsOption = "--jobserver-fds";

    private const string FifoPrefix = "fifo:";

    private static readonly ReadOnlyCollection<string> Names =
        Array.AsReadOnly(new[] { "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS" });

    /// <summary>The variables a jobserver is looked for in, in the order they are tried: CARGO_MAKEFLAGS, MAKEFLAGS, MFLAGS.</summary>
    public static IReadOnlyList<string> VariableNames => Names;

    /// <summary>
    /// Reads the first of <see cref="VariableNames"/> that exists, even when it is empty, as the Rust jobserver crate
    /// does: a stale empty CARGO_MAKEFLAGS hides MAKEFLAGS. Null when none of them exists.
    /// </summary>
    /// <param name="getVariable">Returns a variable's value, or null when it is not set.</param>
    public static MakeFlagsAdvertisement? FromEnvironment(Func<string, string?> getVariable)
    {
        if (getVariable is null)
        {
            throw new ArgumentNullException(nameof(getVariable));
        }

        foreach (var name in Names)
        {
            var value = getVariable(name);
            if (value is not null)
            {
                return Parse(name, value);
            }
        }

        return null;
    }

    /// <summary>Reads <paramref name="value"/>, the value of <paramref name="variableName"/>. Never throws for a bad value: see <see cref="MakeFlagsAdvertisement.Error"/>.</summary>
    /// <param name="variableName">The variable's name, quoted in <see cref="MakeFlagsAdvertisement.Error"/>.</param>
    /// <param name="value">The variable's value; may be empty.</param>
    public static MakeFlagsAdvertisement Parse(string variableName, string value)
    {
        if (variableName is null || value is null)
        {
            throw new ArgumentNullException(variableName is null ? nameof(variableName) : nameof(value));
        }

        if (variableName.Length == 0)
        {
            throw new ArgumentException("A variable name is required.", nameof(variableName));
        }

        var scan = MakeFlagsScanner.Scan(value);

        var word = scan.AuthWord ?? scan.FdsWord;
        JobserverAuth? auth = null;
        var disabled = false;
        string? error = null;
        if (word is not null)
        {
            var option = scan.AuthWord is null ? FdsOption : AuthOption;
            var reason = word.Length == option.Length
                ? $"has no value; write it as {option}=VALUE, the only form every jobserver client reads"
                : ReadAuth(word.Substring(option.Length + 1), out auth, out disabled);
            if (reason is not null)
            {
                error = $"{variableName}=\"{value}\" advertises a jobserver that cannot be used: '{word}' {reason}. "
                    + "Expected --jobserver-auth=R,W (two decimal descriptors), --jobserver-auth=fifo:PATH or a Windows semaphore name. "
                    + $"Fix or unset {variableName} in whatever starts this build.";
            }
        }

        return new MakeFlagsAdvertisement(
            variableName, value, auth, disabled, scan.DryRun, scan.Jobs, scan.UnlimitedJobs, error, word is not null);
    }

    /// <summary>
    /// The MAKEFLAGS value that hands <paramref name="auth"/> to a child: <c>" -jN --jobserver-auth=X"</c>, with the
    /// leading space make 4.3 writes when it has no single-letter flags. <see cref="Parse"/> reads it back to an equal
    /// <see cref="JobserverAuth"/>.
    /// </summary>
    /// <param name="auth">The jobserver to advertise.</param>
    /// <param name="jobs">The pool's size, at least 1.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="auth"/> would not read back the same: negative descriptors, whitespace in a name, or a
    /// semaphore name that reads as another form (a comma, a <c>fifo:</c> prefix, a bare number). Callers that must
    /// not throw use <see cref="TryWithJobserver"/>.
    /// </exception>
    public static string Format(JobserverAuth auth, int jobs)
    {
        if (jobs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(jobs), jobs, "A jobserver has at least one job slot.");
        }

        return TryWithJobserver(null, auth, jobs, out var value, out var problem) ? value : throw new ArgumentException(problem, nameof(auth));
    }

    /// <summary>
    /// <paramref name="value"/> with only its jobserver words changed: every <c>--jobserver-auth</c>,
    /// <c>--jobserver-fds</c> and <c>-j</c>/<c>--jobs</c> word before <c>--</c> is removed and
    /// <c>-jN --jobserver-auth=X</c> is appended to the flags; every other flag keeps its place (a first word of
    /// single-letter flags, so a dry run stays one) and the <c>--</c> part with its variable definitions is kept
    /// verbatim. A null or blank <paramref name="value"/> gives what <see cref="Format"/> gives. Never throws for an
    /// <paramref name="auth"/> that cannot be written: returns false with the reason in <paramref name="problem"/>.
    /// </summary>
    /// <param name="value">The variable's current value, or null when it is not set.</param>
    /// <param name="auth">The jobserver to advertise.</param>
    /// <param name="jobs">The pool's size; values below 1 are written as 1.</param>
    /// <param name="result">The new value, when the method returns true.</param>
    /// <param name="problem">Why <paramref name="auth"/> cannot be advertised, when it returns false.</param>
    public static bool TryWithJobserver(string? value, JobserverAuth auth, int jobs, out string result, out string? problem)
    {
        if (auth is null)
        {
            throw new ArgumentNullException(nameof(auth));
        }

        result = "";
        var text = auth.ToAuthString();
        if (text.IndexOfAny(MakeFlagsScanner.Whitespace) >= 0 || ReadAuth(text, out var readBack, out _) is not null || !auth.Equals(readBack))
        {
            problem = $"The jobserver '{text}' cannot be written to MAKEFLAGS so that it reads back the same "
                + "(MAKEFLAGS words end at whitespace; a name must not read as another form).";
            return false;
        }

        problem = null;
        var jobserver = "-j" + Math.Max(1, jobs).ToString(CultureInfo.InvariantCulture) + " " + AuthOption + "=" + text;
        var kept = KeptWords(value ?? "", out var tail);
        result = (kept.Count == 0 ? " " : string.Join(" ", kept) + " ") + jobserver + (tail is null ? "" : " " + tail);
        return true;
    }

    /// <summary>
    /// The value for a child that must not see a jobserver: every <c>--jobserver-auth</c> and <c>--jobserver-fds</c>
    /// word before <c>--</c> removed, the other words joined by single spaces, and the <c>--</c> part kept verbatim.
    /// May return "". A <c>-jN</c> is kept, so a make started with it creates its own pool.
    /// </summary>
    /// <param name="value">A MAKEFLAGS-style value.</param>
    public static string WithoutJobserver(string value)
    {
        if (value is null)
        {
            throw new ArgumentNullException(nameof(value));
        }

        var kept = new List<string>();
        var words = MakeFlagsScanner.Words(value, out var tailStart);
        foreach (var word in words)
        {
            if (!MakeFlagsScanner.IsOption(word, AuthOption) && !MakeFlagsScanner.IsOption(word, FdsOption))
            {
                kept.Add(word);
            }
        }

        if (tailStart >= 0)
        {
            // Variable definitions may hold escaped whitespace, so they are not re-spaced.
            kept.Add(value.Substring(tailStart));
        }

        return string.Join(" ", kept);
    }

    // The words of value before "--" that are not about the jobserver or the job count, and the "--" part verbatim.
    private static List<string> KeptWords(string value, out string? tail)
    {
        var words = MakeFlagsScanner.Words(value, out var tailStart);
        var kept = new List<string>();
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            if (MakeFlagsScanner.IsOption(word, AuthOption) || MakeFlagsScanner.IsOption(word, FdsOption) || MakeFlagsScanner.IsOption(word, "--jobs"))
            {
                continue;
            }

            if (word.StartsWith("-j", StringComparison.Ordinal) && (word.Length == 2 || MakeFlagsScanner.IsDigits(word.Substring(2))))
            {
                // A bare -j takes a following all-digit word as its count, as make reads it.
                if (word.Length == 2 && i + 1 < words.Count && MakeFlagsScanner.IsDigits(words[i + 1]))
                {
                    i++;
                }

                continue;
            }

            kept.Add(word);
        }

        tail = tailStart >= 0 ? value.Substring(tailStart) : null;
        return kept;
    }

    /// <summary>
    /// The first of <see cref="VariableNames"/> whose value names a jobserver (usable or not). Unlike
    /// <see cref="FromEnvironment"/>, a variable that exists without jobserver words (an empty CARGO_MAKEFLAGS left
    /// by a build script) does not hide a jobserver in the next one. Null when none names one.
    /// </summary>
    /// <param name="getVariable">Returns a variable's value, or null when it is not set.</param>
    public static MakeFlagsAdvertisement? FirstAdvertising(Func<string, string?> getVariable)
    {
        if (getVariable is null)
        {
            throw new ArgumentNullException(nameof(getVariable));
        }

        foreach (var name in Names)
        {
            if (getVariable(name) is { } value && Parse(name, value) is { AdvertisesJobserver: true } advertised)
            {
                return advertised;
            }
        }

        return null;
    }

    // Returns why text (what follows "--jobserver-auth=") is unusable, or null when auth or disabled was set.
    private static string? ReadAuth(string text, out JobserverAuth? auth, out bool disabled)
    {
        auth = null;
        disabled = false;
        if (text.Length == 0)
        {
            return "has an empty value";
        }

        if (text.StartsWith(FifoPrefix, StringComparison.Ordinal))
        {
            if (text.Length == FifoPrefix.Length)
            {
                return "names no path after 'fifo:'";
            }

            auth = JobserverAuth.Fifo(text.Substring(FifoPrefix.Length));
            return null;
        }

        var comma = text.IndexOf(',');
        if (comma < 0)
        {
            if (IsDescriptor(text))
            {
                return "names one descriptor where the pipe form needs two, R,W";
            }

            auth = JobserverAuth.Semaphore(text);
            return null;
        }

        var problem = ReadDescriptor(text.Substring(0, comma), "read", out var read);
        if (problem is not null)
        {
            return problem;
        }

        problem = ReadDescriptor(text.Substring(comma + 1), "write", out var write);
        if (problem is not null)
        {
            return problem;
        }

        if (read < 0 || write < 0)
        {
            disabled = true;
        }
        else
        {
            auth = JobserverAuth.Pipe(read, write);
        }

        return null;
    }

    private static string? ReadDescriptor(string text, string role, out int fd)
    {
        fd = -1;
        if (text.Length == 0)
        {
            return $"has no {role} descriptor";
        }

        if (!IsDescriptor(text))
        {
            return $"has a {role} descriptor '{text}' that is not a decimal number";
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out fd)
            ? null
            : $"has a {role} descriptor '{text}' that is out of range";
    }

    private static bool IsDescriptor(string text) => MakeFlagsScanner.IsDigits(text.StartsWith("-", StringComparison.Ordinal) ? text.Substring(1) : text);
}
