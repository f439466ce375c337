namespace MSBuild.Jobserver.WindowsTests;

/// <summary>What a finished process left: its exit code and its interleaved standard output and error.</summary>
internal sealed record ProcessResult(int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>The values of every line "KEY value" (the probes' output format).</summary>
    public IReadOnlyList<string> Values(string key) =>
        Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith(key + " ", StringComparison.Ordinal))
            .Select(l => l[(key.Length + 1)..]).ToList();

    /// <summary>The value of the only line "KEY value"; fails the test when there is none.</summary>
    public string Value(string key)
    {
        var values = Values(key);
        Assert.AreEqual(1, values.Count, $"expected one '{key}' line in:\n{Output}");
        return values[0];
    }

    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s:\n{Output}";
}
