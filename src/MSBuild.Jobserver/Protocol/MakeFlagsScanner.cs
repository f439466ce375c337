using System;
using System.Collections.Generic;
using System.Globalization;

namespace MSBuild.Jobserver.Protocol;

/// <summary>
/// Splits a MAKEFLAGS-style value into words and walks the words before <c>--</c> once, keeping what make's getopt
/// would end up with. The rules are listed on <see cref="MakeFlags"/>.
/// </summary>
internal sealed class MakeFlagsScanner
{
    // Short options of make that take an argument; the argument ends the cluster it starts in.
    private const string ArgumentLetters = "CEIOWflo";

    // Of those, the ones whose argument is mandatory: when it is not in the same word it is the next word.
    private const string RequiredArgumentLetters = "CEIWfo";

    private readonly List<string> _words;
    private int _index;

    private MakeFlagsScanner(List<string> words) => _words = words;

    /// <summary>ASCII whitespace, which separates words.</summary>
    internal static char[] Whitespace { get; } = { ' ', '\t', '\n', '\r', '\v', '\f' };

    /// <summary>The last <c>--jobserver-auth</c> word, with or without a value.</summary>
    public string? AuthWord { get; private set; }

    /// <summary>The last <c>--jobserver-fds</c> word, with or without a value.</summary>
    public string? FdsWord { get; private set; }

    /// <summary>An <c>n</c> short option or a long dry-run option was seen.</summary>
    public bool DryRun { get; private set; }

    /// <summary>The count of the last job option that had a valid one.</summary>
    public int? Jobs { get; private set; }

    /// <summary>The last job option had no count.</summary>
    public bool UnlimitedJobs { get; private set; }

    /// <summary>Scans the words of <paramref name="value"/> that come before <c>--</c>.</summary>
    public static MakeFlagsScanner Scan(string value)
    {
        var scanner = new MakeFlagsScanner(Words(value, out _));
        scanner.Run();
        return scanner;
    }

    /// <summary>
    /// The whitespace-separated words before the first <c>--</c> word; <paramref name="tailStart"/> is where that
    /// word starts in <paramref name="value"/>, or -1 when there is none.
    /// </summary>
    public static List<string> Words(string value, out int tailStart)
    {
        var words = new List<string>();
        tailStart = -1;
        var i = 0;
        while (i < value.Length)
        {
            if (Array.IndexOf(Whitespace, value[i]) >= 0)
            {
                i++;
                continue;
            }

            var start = i;
            while (i < value.Length && Array.IndexOf(Whitespace, value[i]) < 0)
            {
                i++;
            }

            var word = value.Substring(start, i - start);
            if (word == "--")
            {
                tailStart = start;
                break;
            }

            words.Add(word);
        }

        return words;
    }

    /// <summary><paramref name="word"/> is the long option <paramref name="option"/>, bare or with <c>=value</c>.</summary>
    public static bool IsOption(string word, string option) =>
        word.StartsWith(option, StringComparison.Ordinal) && (word.Length == option.Length || word[option.Length] == '=');

    /// <summary>One or more ASCII digits and nothing else.</summary>
    public static bool IsDigits(string text)
    {
        foreach (var c in text)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
        }

        return text.Length > 0;
    }

    private void Run()
    {
        for (_index = 0; _index < _words.Count; _index++)
        {
            var word = _words[_index];
            if (IsOption(word, MakeFlags.AuthOption))
            {
                AuthWord = word;
            }
            else if (IsOption(word, MakeFlags.FdsOption))
            {
                FdsWord = word;
            }
            else if (IsOption(word, "--jobs"))
            {
                ReadJobs(word.Length == 6 ? null : word.Substring(7));
            }
            else if (word is "--just-print" or "--dry-run" or "--recon")
            {
                DryRun = true;
            }
            else if (word.Length > 1 && word[0] == '-' && word[1] != '-')
            {
                ReadCluster(word.Substring(1));
            }
            else if (_index == 0 && word[0] != '-' && word.IndexOf('=') < 0)
            {
                // make puts a '-' in front of a first word that has none: it is the word of single-letter flags.
                ReadCluster(word);
            }
        }
    }

    private void ReadCluster(string letters)
    {
        for (var k = 0; k < letters.Length; k++)
        {
            var letter = letters[k];
            var last = k == letters.Length - 1;
            if (letter == 'n')
            {
                DryRun = true;
            }
            else if (letter == 'j')
            {
                ReadJobs(last ? null : letters.Substring(k + 1));
                return;
            }
            else if (ArgumentLetters.IndexOf(letter) >= 0)
            {
                if (last && RequiredArgumentLetters.IndexOf(letter) >= 0)
                {
                    _index++;
                }

                return;
            }
        }
    }

    private void ReadJobs(string? count)
    {
        // Like make, a -j without a count takes the next word when that word is all digits.
        if (count is null && _index + 1 < _words.Count && IsDigits(_words[_index + 1]))
        {
            count = _words[++_index];
        }

        if (count is null)
        {
            Jobs = null;
            UnlimitedJobs = true;
        }
        else if (IsDigits(count) && int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var jobs) && jobs >= 1)
        {
            Jobs = jobs;
            UnlimitedJobs = false;
        }
    }
}
