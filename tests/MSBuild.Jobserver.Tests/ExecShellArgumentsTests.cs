using System.Diagnostics;
using MSBuild.Jobserver.Commands;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 11, any TMPDIR: Exec's script path is quoted for sh so that a real /bin/sh, started through .NET's own
/// argument splitting, sources the script whatever its directory is called.
/// </summary>
[TestClass]
public sealed class ExecShellArgumentsTests
{
    [TestMethod]
    [DataRow("plain", "'plain'")]
    [DataRow("my tmp", "'my tmp'")]
    [DataRow("it's", "'it'\\''s'")]
    [DataRow("''", "''\\'''\\'''")]
    [DataRow("$HOME \"x\" \\", "'$HOME \"x\" \\'")]
    public void ShWordsAreSingleQuotedWithQuotesEscaped(string text, string word) =>
        Assert.AreEqual(word, ExecShellArguments.ForSh(text));

    [TestMethod]
    [DataRow("my tmp")]
    [DataRow("it's")]
    [DataRow("é-ü")]
    [DataRow("my tmp's é-ü")]
    [DataRow("dot. space; . x")]
    [DataRow("$(x) `y` *")]
    public void ShSourcesTheScriptFromAnyDirectory(string directoryName)
    {
        var script = WriteScript(directoryName);
        var arguments = AsExecWritesThem(script, withLocale: false);

        var quoted = ExecShellArguments.QuoteScriptPath(arguments, File.Exists);

        Assert.IsNotNull(quoted, arguments);
        Assert.AreEqual("ran " + Marker(script), RunSh(quoted));
    }

    [TestMethod]
    public void TheLocaleExportsInFrontStayAsTheyWere()
    {
        var script = WriteScript("my tmp's é-ü");
        var arguments = AsExecWritesThem(script, withLocale: true);

        var quoted = ExecShellArguments.QuoteScriptPath(arguments, File.Exists);

        Assert.IsNotNull(quoted);
        StringAssert.StartsWith(quoted, "-c \"export LANG=en_US.UTF-8; export LC_ALL=en_US.UTF-8; . '");
        Assert.AreEqual("ran " + Marker(script), RunSh(quoted));
    }

    [TestMethod]
    public void StockArgumentsFailWhereTheQuotedOnesWork()
    {
        var script = WriteScript("my tmp");
        Assert.AreNotEqual("ran " + Marker(script), RunSh(AsExecWritesThem(script, withLocale: false)), "the stock form no longer fails: this test proves nothing");
    }

    [TestMethod]
    [DataRow("/c echo hi")]
    [DataRow("-c \". /no/such/script.exec.cmd\"")]
    [DataRow("-c \"echo hi\"")]
    [DataRow("-c \". x")]
    public void ArgumentsNamingNoScriptAreLeftAlone(string arguments) =>
        Assert.IsNull(ExecShellArguments.QuoteScriptPath(arguments, File.Exists));

    // Exec's Unix form: -c, then the script sourced, its path appended as a file name, all inside one quoted argument.
    private static string AsExecWritesThem(string script, bool withLocale)
    {
        var builder = new CommandLineBuilder();
        builder.AppendSwitch("-c");
        builder.AppendTextUnquoted(" \"");
        builder.AppendTextUnquoted(withLocale ? "export LANG=en_US.UTF-8; export LC_ALL=en_US.UTF-8; . " : ". ");
        builder.AppendFileNameIfNotNull(script);
        builder.AppendTextUnquoted("\"");
        return " " + builder;
    }

    private static string WriteScript(string directoryName)
    {
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "exec-quoting-" + Guid.NewGuid().ToString("N"), directoryName)).FullName;
        var script = Path.Combine(directory, "tmp1.exec.cmd");
        File.WriteAllText(script, "printf 'ran %s' " + Marker(script) + "\n");
        return script;
    }

    // Names the script that ran: its unique directory's name.
    private static string Marker(string script) => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(script)))!;

    private static string RunSh(string arguments)
    {
        var start = new ProcessStartInfo("/bin/sh", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
