using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tests;

[TestClass]
public sealed class MakeFlagsTests
{
    private const int NoJobs = -1;

    // expectedAuth is "Kind auth-string", or null when Auth must be null.
    [TestMethod]
    [DataRow("MAKEFLAGS", " -j3 --jobserver-auth=3,4", "Pipe 3,4", false, false, 3, false, true, DisplayName = "make 4.3, real output")]
    [DataRow("MFLAGS", "-j3 --jobserver-auth=3,4", "Pipe 3,4", false, false, 3, false, true, DisplayName = "make 4.3 MFLAGS")]
    [DataRow("MAKEFLAGS", "-j3 --jobserver-auth=fifo:/tmp/GMfifo1234", "Fifo fifo:/tmp/GMfifo1234", false, false, 3, false, true, DisplayName = "make 4.4 fifo")]
    [DataRow("MAKEFLAGS", " -j4 --jobserver-auth=fifo:/tmp/GMfifo1234", "Fifo fifo:/tmp/GMfifo1234", false, false, 4, false, true, DisplayName = "make 4.4 fifo, leading space")]
    [DataRow("CARGO_MAKEFLAGS", "-j --jobserver-fds=7,8 --jobserver-auth=7,8", "Pipe 7,8", false, false, NoJobs, true, true, DisplayName = "cargo pipe")]
    [DataRow("CARGO_MAKEFLAGS", "-j --jobserver-fds=fifo:/tmp/jobserver-fifo --jobserver-auth=fifo:/tmp/jobserver-fifo", "Fifo fifo:/tmp/jobserver-fifo", false, false, NoJobs, true, true, DisplayName = "cargo fifo")]
    [DataRow("MAKEFLAGS", " -j8 --jobserver-auth=gmake_semaphore_1234", "Semaphore gmake_semaphore_1234", false, false, 8, false, true, DisplayName = "Windows semaphore")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=FIFO:/tmp/x", "Semaphore FIFO:/tmp/x", false, false, NoJobs, false, true, DisplayName = "fifo: is case-sensitive")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=fifo:relative/GMfifo1", "Fifo fifo:relative/GMfifo1", false, false, NoJobs, false, true, DisplayName = "relative fifo path left to the caller")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=0,1", "Pipe 0,1", false, false, NoJobs, false, true, DisplayName = "descriptors 0,1 left to the caller")]
    [DataRow("MAKEFLAGS", " -j4 --jobserver-auth=-2,-2", null, true, false, 4, false, true, DisplayName = "make 4.4 disabled")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=-1,4", null, true, false, NoJobs, false, true, DisplayName = "one negative descriptor disables")]
    [DataRow("MAKEFLAGS", "n", null, false, true, NoJobs, false, false, DisplayName = "dry run")]
    [DataRow("MAKEFLAGS", "kn -j3 --jobserver-auth=3,4", "Pipe 3,4", false, true, 3, false, true, DisplayName = "dry run with jobserver")]
    [DataRow("MFLAGS", "-kn -j3 --jobserver-auth=3,4", "Pipe 3,4", false, true, 3, false, true, DisplayName = "MFLAGS dry run")]
    [DataRow("MAKEFLAGS", "-n", null, false, true, NoJobs, false, false, DisplayName = "user-written -n")]
    [DataRow("MAKEFLAGS", "--dry-run", null, false, true, NoJobs, false, false, DisplayName = "long dry run")]
    [DataRow("MAKEFLAGS", " -Inc -j3 --jobserver-auth=3,4", "Pipe 3,4", false, false, 3, false, true, DisplayName = "-I argument holding n is not a dry run")]
    [DataRow("MFLAGS", "-Inc -j3 --jobserver-auth=3,4", "Pipe 3,4", false, false, 3, false, true, DisplayName = "MFLAGS -I argument holding n")]
    [DataRow("MAKEFLAGS", "n -Inc -j3 --jobserver-auth=3,4", "Pipe 3,4", false, true, 3, false, true, DisplayName = "dry run and -I")]
    [DataRow("MAKEFLAGS", " -I -n", null, false, false, NoJobs, false, false, DisplayName = "-I takes the next word")]
    [DataRow("MAKEFLAGS", "BeiLrRst -Otarget --no-print-directory", null, false, false, NoJobs, false, false, DisplayName = "many flags, none dry")]
    [DataRow("MAKEFLAGS", "FOO=n", null, false, false, NoJobs, false, false, DisplayName = "a definition is not the flags word")]
    [DataRow("MAKEFLAGS", " -j", null, false, false, NoJobs, true, false, DisplayName = "bare -j")]
    [DataRow("MFLAGS", "-j", null, false, false, NoJobs, true, false, DisplayName = "MFLAGS bare -j")]
    [DataRow("MAKEFLAGS", "k -j", null, false, false, NoJobs, true, false, DisplayName = "bare -j after flags")]
    [DataRow("MAKEFLAGS", "j", null, false, false, NoJobs, true, false, DisplayName = "j in the flags word")]
    [DataRow("MAKEFLAGS", "kj3", null, false, false, 3, false, false, DisplayName = "j3 in the flags word")]
    [DataRow("MAKEFLAGS", "-j 6", null, false, false, 6, false, false, DisplayName = "-j N")]
    [DataRow("MAKEFLAGS", "--jobs=5 --jobserver-auth=3,4", "Pipe 3,4", false, false, 5, false, true, DisplayName = "--jobs=N")]
    [DataRow("MAKEFLAGS", "--jobs 7", null, false, false, 7, false, false, DisplayName = "--jobs N")]
    [DataRow("MAKEFLAGS", "--jobs", null, false, false, NoJobs, true, false, DisplayName = "bare --jobs")]
    [DataRow("MAKEFLAGS", "-j3 -j", null, false, false, NoJobs, true, false, DisplayName = "last -j wins: unlimited")]
    [DataRow("MAKEFLAGS", "-j -j3", null, false, false, 3, false, false, DisplayName = "last -j wins: count")]
    [DataRow("MAKEFLAGS", "-j0", null, false, false, NoJobs, false, false, DisplayName = "-j0 ignored")]
    [DataRow("MAKEFLAGS", "-j2 -jx", null, false, false, 2, false, false, DisplayName = "-jx ignored")]
    [DataRow("MAKEFLAGS", "-j99999999999", null, false, false, NoJobs, false, false, DisplayName = "-j overflow ignored")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=3,4 --jobserver-auth=5,6", "Pipe 5,6", false, false, NoJobs, false, true, DisplayName = "last auth wins")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=3,4 --jobserver-auth=-2,-2", null, true, false, NoJobs, false, true, DisplayName = "last auth wins: disabled")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=-2,-2 --jobserver-auth=3,4", "Pipe 3,4", false, false, NoJobs, false, true, DisplayName = "last auth wins over disabled")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=3,4x --jobserver-auth=3,4", "Pipe 3,4", false, false, NoJobs, false, true, DisplayName = "earlier malformed auth not read")]
    [DataRow("MAKEFLAGS", "--jobserver-fds=3,4", "Pipe 3,4", false, false, NoJobs, false, true, DisplayName = "fds fallback")]
    [DataRow("MAKEFLAGS", "--jobserver-fds=3,4 --jobserver-fds=5,6", "Pipe 5,6", false, false, NoJobs, false, true, DisplayName = "last fds wins")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=5,6 --jobserver-fds=3,4", "Pipe 5,6", false, false, NoJobs, false, true, DisplayName = "auth beats a later fds")]
    [DataRow("MAKEFLAGS", "--jobserver-auth=5,6 --jobserver-fds=3,4x", "Pipe 5,6", false, false, NoJobs, false, true, DisplayName = "malformed fds not read when auth exists")]
    [DataRow("MAKEFLAGS", "k -j3 --jobserver-auth=3,4 -- FOO=--jobserver-auth=1,2", "Pipe 3,4", false, false, 3, false, true, DisplayName = "text after -- not read")]
    [DataRow("MAKEFLAGS", " -- FOO=bar --jobserver-auth=1,2 -n", null, false, false, NoJobs, false, false, DisplayName = "only definitions")]
    [DataRow("MAKEFLAGS", "FOO=--jobserver-auth=1,2", null, false, false, NoJobs, false, false, DisplayName = "substring in another word")]
    [DataRow("MAKEFLAGS", "--jobserver-authority=3,4", null, false, false, NoJobs, false, false, DisplayName = "longer option name")]
    [DataRow("MAKEFLAGS", "\t-j2\t--jobserver-auth=3,4\n", "Pipe 3,4", false, false, 2, false, true, DisplayName = "tabs and newlines")]
    [DataRow("MAKEFLAGS", "", null, false, false, NoJobs, false, false, DisplayName = "empty")]
    [DataRow("MAKEFLAGS", "   ", null, false, false, NoJobs, false, false, DisplayName = "blank")]
    public void Parse_ReadsEveryForm(
        string variable, string value, string? expectedAuth, bool disabled, bool dryRun, int jobs, bool unlimited, bool advertises)
    {
        var parsed = MakeFlags.Parse(variable, value);

        Assert.AreEqual(variable, parsed.VariableName);
        Assert.AreEqual(value, parsed.Value);
        Assert.AreEqual(expectedAuth, parsed.Auth is null ? null : parsed.Auth.Kind + " " + parsed.Auth.ToAuthString());
        Assert.AreEqual(disabled, parsed.IsDisabled);
        Assert.AreEqual(dryRun, parsed.IsDryRun);
        Assert.AreEqual(jobs == NoJobs ? null : jobs, parsed.Jobs);
        Assert.AreEqual(unlimited, parsed.UnlimitedJobs);
        Assert.AreEqual(advertises, parsed.AdvertisesJobserver);
        Assert.IsNull(parsed.Error);
    }

    [TestMethod]
    public void Parse_PipeForm_GivesBothDescriptors()
    {
        var auth = MakeFlags.Parse("MAKEFLAGS", " -j3 --jobserver-auth=3,4").Auth;

        Assert.IsNotNull(auth);
        Assert.AreEqual(JobserverAuthKind.Pipe, auth.Kind);
        Assert.AreEqual(3, auth.ReadFd);
        Assert.AreEqual(4, auth.WriteFd);
        Assert.AreEqual(JobserverAuth.Pipe(3, 4), auth);
    }

    [TestMethod]
    public void Parse_FifoForm_GivesThePath()
    {
        var auth = MakeFlags.Parse("MAKEFLAGS", "-j3 --jobserver-auth=fifo:/tmp/GMfifo1234").Auth;

        Assert.IsNotNull(auth);
        Assert.AreEqual("/tmp/GMfifo1234", auth.Path);
    }

    [TestMethod]
    public void Parse_SemaphoreForm_GivesTheName()
    {
        var auth = MakeFlags.Parse("MAKEFLAGS", " -j8 --jobserver-auth=gmake_semaphore_1234").Auth;

        Assert.IsNotNull(auth);
        Assert.AreEqual(JobserverAuthKind.Semaphore, auth.Kind);
        Assert.AreEqual("gmake_semaphore_1234", auth.Name);
    }

    [TestMethod]
    [DataRow("--jobserver-auth=3,4x")]
    [DataRow("--jobserver-auth=,4")]
    [DataRow("--jobserver-auth=3")]
    [DataRow("--jobserver-auth=-3")]
    [DataRow("--jobserver-auth=42")]
    [DataRow("--jobserver-auth=")]
    [DataRow("--jobserver-auth=fifo:")]
    [DataRow("--jobserver-auth=99999999999,1")]
    [DataRow("--jobserver-auth=1,99999999999")]
    [DataRow("--jobserver-auth=2147483648,4")]
    [DataRow("--jobserver-auth=-99999999999,-2")]
    [DataRow("--jobserver-auth=3,")]
    [DataRow("--jobserver-auth=,")]
    [DataRow("--jobserver-auth=x,4")]
    [DataRow("--jobserver-auth=3,4,5")]
    [DataRow("--jobserver-auth=+3,4")]
    [DataRow("--jobserver-auth=3,+4")]
    [DataRow("--jobserver-auth=-,4")]
    [DataRow("--jobserver-auth=--2,-2")]
    [DataRow("--jobserver-auth=3.0,4")]
    [DataRow("--jobserver-auth=0x3,4")]
    [DataRow("--jobserver-auth=\u0663,4")]
    [DataRow("--jobserver-auth=3 ,4")]
    [DataRow("--jobserver-auth")]
    [DataRow("--jobserver-auth 3,4")]
    [DataRow("--jobserver-fds")]
    [DataRow("--jobserver-fds=")]
    [DataRow("--jobserver-fds=3")]
    [DataRow("--jobserver-fds=fifo:")]
    [DataRow(" -j3 --jobserver-auth=3,4 --jobserver-auth=3,4x")]
    [DataRow(" -j3 --jobserver-auth=-2,-2 --jobserver-auth=")]
    [DataRow("-j --jobserver-fds=3,4 --jobserver-auth=3")]
    public void Parse_MalformedJobserver_ReportsAnError(string value)
    {
        var parsed = MakeFlags.Parse("MAKEFLAGS", value);

        Assert.IsNotNull(parsed.Error);
        Assert.IsNull(parsed.Auth);
        Assert.IsFalse(parsed.IsDisabled);
        Assert.IsTrue(parsed.AdvertisesJobserver);
        Assert.Contains("MAKEFLAGS=\"" + value + "\"", parsed.Error);
        Assert.Contains("--jobserver-auth=R,W", parsed.Error);
    }

    [TestMethod]
    [DataRow("--jobserver-auth=99999999999,1", "'99999999999' that is out of range")]
    [DataRow("--jobserver-auth=3,4x", "write descriptor '4x' that is not a decimal number")]
    [DataRow("--jobserver-auth=,4", "has no read descriptor")]
    [DataRow("--jobserver-auth=3", "names one descriptor")]
    [DataRow("--jobserver-auth=", "'--jobserver-auth=' has an empty value")]
    [DataRow("--jobserver-auth=fifo:", "no path after 'fifo:'")]
    [DataRow("-j --jobserver-fds", "write it as --jobserver-fds=VALUE")]
    [DataRow("--jobserver-auth=3,4 --jobserver-auth=5,6x", "'--jobserver-auth=5,6x'")]
    public void Parse_MalformedJobserver_SaysWhatIsWrong(string value, string expectedFragment)
    {
        var error = MakeFlags.Parse("MAKEFLAGS", value).Error;

        Assert.IsNotNull(error);
        Assert.Contains(expectedFragment, error);
    }

    [TestMethod]
    public void Parse_ErrorNamesTheVariable()
    {
        var error = MakeFlags.Parse("CARGO_MAKEFLAGS", "--jobserver-auth=3").Error;

        Assert.IsNotNull(error);
        Assert.StartsWith("CARGO_MAKEFLAGS=\"--jobserver-auth=3\"", error);
        Assert.Contains("unset CARGO_MAKEFLAGS", error);
    }

    [TestMethod]
    public void Parse_RejectsMissingArguments()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => MakeFlags.Parse("MAKEFLAGS", null!));
        Assert.ThrowsExactly<ArgumentException>(() => MakeFlags.Parse("", "-j3"));
        Assert.ThrowsExactly<ArgumentNullException>(() => MakeFlags.Parse(null!, "-j3"));
    }

    [TestMethod]
    public void ToString_QuotesNameAndValue() =>
        Assert.AreEqual("MAKEFLAGS=\" -j3 --jobserver-auth=3,4\"", MakeFlags.Parse("MAKEFLAGS", " -j3 --jobserver-auth=3,4").ToString());

    [TestMethod]
    public void VariableNames_AreInLookupOrder() =>
        CollectionAssert.AreEqual(new[] { "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS" }, MakeFlags.VariableNames.ToArray());

    [TestMethod]
    public void VariableNames_CannotBeChangedThroughACast() =>
        Assert.IsNotInstanceOfType<string[]>(MakeFlags.VariableNames);

    [TestMethod]
    [DataRow(null, null, null, null, DisplayName = "none set")]
    [DataRow(null, " -j3 --jobserver-auth=3,4", null, "MAKEFLAGS", DisplayName = "MAKEFLAGS")]
    [DataRow(null, null, "-j3 --jobserver-auth=3,4", "MFLAGS", DisplayName = "MFLAGS")]
    [DataRow(null, " -j3 --jobserver-auth=3,4", "-j9 --jobserver-auth=7,8", "MAKEFLAGS", DisplayName = "MAKEFLAGS beats MFLAGS")]
    [DataRow("-j --jobserver-auth=5,6", " -j3 --jobserver-auth=3,4", null, "CARGO_MAKEFLAGS", DisplayName = "CARGO_MAKEFLAGS beats MAKEFLAGS")]
    [DataRow("", " -j3 --jobserver-auth=3,4", null, "CARGO_MAKEFLAGS", DisplayName = "stale empty CARGO_MAKEFLAGS hides MAKEFLAGS")]
    [DataRow(null, "", "-j3 --jobserver-auth=3,4", "MAKEFLAGS", DisplayName = "empty MAKEFLAGS hides MFLAGS")]
    public void FromEnvironment_TakesTheFirstVariableThatExists(string? cargo, string? make, string? mflags, string? expectedVariable)
    {
        var environment = new Dictionary<string, string?> { ["CARGO_MAKEFLAGS"] = cargo, ["MAKEFLAGS"] = make, ["MFLAGS"] = mflags };

        var parsed = MakeFlags.FromEnvironment(name => environment[name]);

        Assert.AreEqual(expectedVariable, parsed?.VariableName);
        if (parsed is not null)
        {
            Assert.AreEqual(environment[parsed.VariableName], parsed.Value);
        }
    }

    [TestMethod]
    public void FromEnvironment_StaleEmptyCargoMakeflags_AdvertisesNothing()
    {
        var parsed = MakeFlags.FromEnvironment(name => name == "MFLAGS" ? "-j3 --jobserver-auth=3,4" : name == "CARGO_MAKEFLAGS" ? "" : null);

        Assert.IsNotNull(parsed);
        Assert.IsNull(parsed.Auth);
        Assert.IsFalse(parsed.AdvertisesJobserver);
    }

    [TestMethod]
    public void FromEnvironment_AsksInOrderAndStopsAtTheFirstHit()
    {
        var asked = new List<string>();

        MakeFlags.FromEnvironment(name =>
        {
            asked.Add(name);
            return name == "MAKEFLAGS" ? "-j2" : null;
        });

        CollectionAssert.AreEqual(new[] { "CARGO_MAKEFLAGS", "MAKEFLAGS" }, asked);
    }

    [TestMethod]
    public void FromEnvironment_RejectsNullLookup() =>
        Assert.ThrowsExactly<ArgumentNullException>(() => MakeFlags.FromEnvironment(null!));

    [TestMethod]
    public void Format_WritesMake43Form() =>
        Assert.AreEqual(" -j3 --jobserver-auth=3,4", MakeFlags.Format(JobserverAuth.Pipe(3, 4), 3));

    [TestMethod]
    [DataRow("pipe", "3,4", 1)]
    [DataRow("pipe", "0,1", 4)]
    [DataRow("pipe", "2147483647,2147483646", 2147483647)]
    [DataRow("fifo", "/tmp/GMfifo1234", 8)]
    [DataRow("fifo", "/tmp/with,comma:and=equals", 2)]
    [DataRow("fifo", "relative", 2)]
    [DataRow("semaphore", "gmake_semaphore_1234", 16)]
    [DataRow("semaphore", "Global\\msbuild-jobserver-42", 3)]
    [DataRow("semaphore", "-", 3)]
    public void Format_RoundTripsThroughParse(string kind, string text, int jobs)
    {
        var auth = Create(kind, text);

        var parsed = MakeFlags.Parse("MAKEFLAGS", MakeFlags.Format(auth, jobs));

        Assert.AreEqual(auth, parsed.Auth);
        Assert.AreEqual(jobs, parsed.Jobs);
        Assert.IsFalse(parsed.IsDryRun);
        Assert.IsFalse(parsed.UnlimitedJobs);
        Assert.IsNull(parsed.Error);
    }

    [TestMethod]
    [DataRow("pipe", "-2,-2")]
    [DataRow("pipe", "3,-1")]
    [DataRow("fifo", "/tmp/with space")]
    [DataRow("fifo", "/tmp/with\ttab")]
    [DataRow("semaphore", "a,b")]
    [DataRow("semaphore", "3,4")]
    [DataRow("semaphore", "fifo:/tmp/x")]
    [DataRow("semaphore", "42")]
    [DataRow("semaphore", "-7")]
    [DataRow("semaphore", "name with space")]
    public void Format_RejectsWhatWouldNotReadBack(string kind, string text) =>
        Assert.ThrowsExactly<ArgumentException>(() => MakeFlags.Format(Create(kind, text), 3));

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    [DataRow(int.MinValue)]
    public void Format_RejectsFewerThanOneJob(int jobs) =>
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MakeFlags.Format(JobserverAuth.Pipe(3, 4), jobs));

    [TestMethod]
    public void Format_RejectsNullAuth() =>
        Assert.ThrowsExactly<ArgumentNullException>(() => MakeFlags.Format(null!, 3));

    [TestMethod]
    [DataRow(" -j3 --jobserver-auth=3,4", "-j3")]
    [DataRow("kn -j3 --jobserver-auth=fifo:/tmp/GMfifo1", "kn -j3")]
    [DataRow("-j --jobserver-fds=7,8 --jobserver-auth=7,8", "-j")]
    [DataRow(" -j8 --jobserver-auth=gmake_semaphore_1234", "-j8")]
    [DataRow(" -j4 --jobserver-auth=-2,-2", "-j4")]
    [DataRow("-j3 --jobserver-auth=3,4x", "-j3")]
    [DataRow("--jobserver-auth --jobserver-fds -j2", "-j2")]
    [DataRow("--jobserver-auth=3,4", "")]
    [DataRow("", "")]
    [DataRow("  \t ", "")]
    [DataRow("n", "n")]
    [DataRow("--jobserver-authority=1 --jobserver-auth=3,4", "--jobserver-authority=1")]
    [DataRow("k -j3 --jobserver-auth=3,4 -- FOO=--jobserver-auth=1,2", "k -j3 -- FOO=--jobserver-auth=1,2")]
    [DataRow("k  -j3\t--jobserver-auth=3,4  -- A=x\\  B=y ", "k -j3 -- A=x\\  B=y ")]
    [DataRow(" --jobserver-auth=3,4 -- A=1", "-- A=1")]
    public void WithoutJobserver_RemovesOnlyJobserverWords(string value, string expected)
    {
        var stripped = MakeFlags.WithoutJobserver(value);

        Assert.AreEqual(expected, stripped);
        Assert.IsFalse(MakeFlags.Parse("MAKEFLAGS", stripped).AdvertisesJobserver);
    }

    [TestMethod]
    public void WithoutJobserver_KeepsDryRunAndJobs()
    {
        var parsed = MakeFlags.Parse("MAKEFLAGS", MakeFlags.WithoutJobserver("kn -j5 --jobserver-auth=fifo:/tmp/GMfifo1"));

        Assert.IsTrue(parsed.IsDryRun);
        Assert.AreEqual(5, parsed.Jobs);
    }

    [TestMethod]
    public void WithoutJobserver_RejectsNull() =>
        Assert.ThrowsExactly<ArgumentNullException>(() => MakeFlags.WithoutJobserver(null!));

    private static JobserverAuth Create(string kind, string text) => kind switch
    {
        "pipe" => JobserverAuth.Pipe(int.Parse(text.Split(',')[0]), int.Parse(text.Split(',')[1])),
        "fifo" => JobserverAuth.Fifo(text),
        _ => JobserverAuth.Semaphore(text),
    };
}
