using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Utilities;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 5's corpus of hostile and broken input, run through the package's real decision code in this process:
/// <see cref="InheritedJobserver.Evaluate"/> (what the entry process decides about CARGO_MAKEFLAGS/MAKEFLAGS/MFLAGS),
/// <see cref="ChildEnvironment.WithoutJobserver"/> (what every tool is then given) and ConfigureJobserver
/// (JobserverSlots). Each case creates real descriptors and paths, and checks: exactly the expected JOBS code (or
/// none), no jobserver to join (the build uses its own pool), nothing advertised to children any more, and not a
/// byte read from or written to anything the value pointed at.
/// </summary>
[TestClass]
public sealed class HostileInputCorpusTests
{
    /// <summary>No code at all: nothing was advertised (the build just makes its own pool).</summary>
    private const string None = "none";

    /// <summary>A control: the value is a usable jobserver and is joined.</summary>
    private const string Joined = "joined";

    private static readonly Dictionary<string, HostileCase> Cases = BuildCases().ToDictionary(c => c.Name, StringComparer.Ordinal);

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(n => new object[] { n });

    public static IEnumerable<object[]> BadSlots => new[] { "0", "-1", "1e9", "abc", "4097", "2.5", "99999999999", "0x10", "+", "\uff18" }.Select(v => new object[] { v });

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheCorpusHasAtLeastFortyHostileCases()
    {
        var hostile = Cases.Values.Count(c => c.Expected != Joined) + BadSlots.Count();
        TestContext.WriteLine($"{hostile} hostile cases ({Cases.Count} environment cases, {BadSlots.Count()} JobserverSlots values)");
        Assert.IsGreaterThanOrEqualTo(40, hostile);
    }

    [TestMethod]
    [DynamicData(nameof(CaseNames))]
    public void HostileInheritedJobserverIsNeverUsedNorTouched(string name)
    {
        var hostileCase = Cases[name];
        using var fixture = new HostileInputFixture();
        var environment = hostileCase.Setup(fixture);
        var engine = new RecordingBuildEngine();
        var log = new TaskLoggingHelper(engine, "CreateBuildJobserver");

        var verdict = InheritedJobserver.Evaluate(log, n => environment.TryGetValue(n, out var v) ? v : null, hostileCase.WorkerNode, "entry.proj", _ => null);

        var codes = engine.Codes;
        var described = $"{name}: {string.Join(" ", environment.Select(p => p.Key + "='" + p.Value + "'"))}\n{engine.Describe()}";
        TestContext.WriteLine($"{name} -> [{string.Join(", ", codes)}] {engine.Warnings.FirstOrDefault()?.Message ?? engine.Messages.FirstOrDefault()?.Message}");
        Assert.IsEmpty(fixture.Untouched(), "something the value named was read or written:\n" + string.Join('\n', fixture.Untouched()) + "\n" + described);

        if (hostileCase.Expected == Joined)
        {
            Assert.IsNotNull(verdict.Auth, "the control should be joined:\n" + described);
            Assert.IsEmpty(codes, described);
            return;
        }

        Assert.IsNull(verdict.Auth, "a hostile value was accepted as the build's jobserver:\n" + described);
        if (hostileCase.Expected == None)
        {
            Assert.IsEmpty(codes, described);
            Assert.IsFalse(verdict.Rejected, described);
        }
        else
        {
            Assert.HasCount(1, codes, "exactly one coded diagnostic expected:\n" + described);
            Assert.AreEqual(hostileCase.Expected, codes[0], described);
            Assert.IsTrue(verdict.Rejected, described);
            var text = engine.Warnings.Select(w => w.Message).Concat(engine.Messages.Select(m => m.Message)).First() ?? "";
            Assert.Contains(verdict.VariableName, text, "the diagnostic should name the variable to fix");
            Assert.IsTrue(engine.Warnings.All(w => w.File == "entry.proj" && w.HelpLink?.EndsWith(w.Code.ToLowerInvariant(), StringComparison.Ordinal) == true),
                "a warning should blame the entry project and link its code's help:\n" + described);
        }

        // What every tool the build starts is given instead: no --jobserver-auth/--jobserver-fds left anywhere.
        var overrides = ChildEnvironment.WithoutJobserver(n => environment.TryGetValue(n, out var v) ? v : null);
        var child = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        foreach (var (key, value) in overrides)
        {
            if (value is null)
            {
                child.Remove(key);
            }
            else
            {
                child[key] = value;
            }
        }

        foreach (var (key, value) in child.Where(p => MakeFlags.VariableNames.Contains(p.Key)))
        {
            Assert.IsFalse(MakeFlags.Parse(key, value).AdvertisesJobserver, $"a child would still see a jobserver in {key}='{value}'\n{described}");
            var flags = value.Contains(" -- ", StringComparison.Ordinal) ? value[..value.IndexOf(" -- ", StringComparison.Ordinal)] : value;
            Assert.DoesNotContain("--jobserver", flags, $"{key}='{value}' keeps a jobserver word");
        }
    }

    [TestMethod]
    [DynamicData(nameof(BadSlots))]
    public void BadJobserverSlotsIsErrorJobs0020NamingTheValue(string slots)
    {
        var engine = new RecordingBuildEngine();
        var task = new ConfigureJobserver { BuildEngine = engine, Slots = slots, NodeCount = "2", ProjectName = "corpus" };
        var before = Environment.GetEnvironmentVariable("MSBUILD_JOBSERVER_PROJECT");

        var ok = task.Execute();

        TestContext.WriteLine($"JobserverSlots='{slots}' -> {engine.Describe()}");
        Assert.IsFalse(ok, "the build must stop on a bad JobserverSlots");
        Assert.HasCount(1, engine.Errors, engine.Describe());
        Assert.AreEqual("JOBS0020", engine.Errors[0].Code);
        Assert.Contains("'" + slots + "'", engine.Errors[0].Message ?? "", "the error should quote the value");
        Assert.AreEqual(before, Environment.GetEnvironmentVariable("MSBUILD_JOBSERVER_PROJECT"), "a rejected configuration was recorded");
    }

    private static IEnumerable<HostileCase> BuildCases()
    {
        static Dictionary<string, string> M(string value) => new() { ["MAKEFLAGS"] = value };
        static string Auth(int r, int w) => $" -j4 --jobserver-auth={r},{w}";

        // Descriptors (R,W form): what a parent could leave under the numbers.
        yield return new("descriptors closed", "JOBS0002", f => M(Auth(f.ClosedDescriptor(), f.ClosedDescriptor(950))));
        yield return new("read end open, write end closed", "JOBS0002", f => M(Auth(f.Pipe().R, f.ClosedDescriptor())));
        yield return new("huge descriptors", "JOBS0002", _ => M(Auth(int.MaxValue, int.MaxValue - 1)));
        yield return new("descriptors beyond int", "JOBS0001", _ => M(" -j4 --jobserver-auth=99999999999,99999999998"));
        yield return new("negative descriptors -1,-1", "JOBS0032", _ => M(Auth(-1, -1)));
        yield return new("negative descriptors -2,-2 (make 4.4 disabled)", "JOBS0032", _ => M(Auth(-2, -2)));
        yield return new("one negative descriptor beside a real pipe", "JOBS0032", f => M(Auth(-1, f.Pipe().W)));
        yield return new("a regular file read-write", "JOBS0003", f => M(Auth(f.OpenFile("rw", OpenFlags.O_RDWR), f.OpenFile("rw2", OpenFlags.O_RDWR))));
        yield return new("a regular file, read end only", "JOBS0003", f => M(Auth(f.OpenFile("ro", OpenFlags.O_RDONLY), f.Pipe().W)));
        yield return new("a socket pair", "JOBS0003", f => { var (a, b) = f.SocketPair(); return M(Auth(b, a)); });
        yield return new("/dev/null", "JOBS0003", f => M(Auth(f.Open("/dev/null", OpenFlags.O_RDONLY), f.Open("/dev/null", OpenFlags.O_WRONLY))));
        yield return new("/dev/zero", "JOBS0003", f => M(Auth(f.Open("/dev/zero", OpenFlags.O_RDONLY), f.Open("/dev/zero", OpenFlags.O_RDWR))));
        yield return new("a directory", "JOBS0003", f => { var d = f.Open(f.Directory, OpenFlags.O_RDONLY); return M(Auth(d, d)); });
        yield return new("the runtime's own pipe (close-on-exec)", "JOBS0006", f => { var (r, w) = f.RuntimePipe(); return M(Auth(r, w)); });
        yield return new("an inheritable pipe with close-on-exec on its write end", "JOBS0006", f => { var (r, w) = f.Pipe(); HostileInputFixture.SetCloseOnExec(w); return M(Auth(r, w)); });
        yield return new("read and write ends of different pipes", "JOBS0004", f => M(Auth(f.Pipe().R, f.Pipe().W)));
        yield return new("two read ends of different pipes", "JOBS0004", f => M(Auth(f.Pipe().R, f.Pipe().R)));
        yield return new("swapped ends", "JOBS0005", f => { var (r, w) = f.Pipe(); return M(Auth(w, r)); });
        yield return new("the read end twice", "JOBS0005", f => { var (r, _) = f.Pipe(); return M(Auth(r, r)); });
        yield return new("the write end twice", "JOBS0005", f => { var (_, w) = f.Pipe(); return M(Auth(w, w)); });
        yield return new("a FIFO opened read-only and write-only, swapped", "JOBS0005", f =>
        {
            var fifo = f.Fifo("swap");
            return M(Auth(f.Open(fifo, OpenFlags.O_WRONLY | OpenFlags.O_NONBLOCK), f.Open(fifo, OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK)));
        });
        yield return new("a real pipe seen by a worker node", "JOBS0012", f => { var (r, w) = f.Pipe(); return M(Auth(r, w)); }, WorkerNode: true);
        yield return new("--jobserver-fds (make < 4.2) with closed descriptors", "JOBS0002", f => M($" -j4 --jobserver-fds={f.ClosedDescriptor()},{f.ClosedDescriptor(950)}"));
        yield return new("several --jobserver-auth: a real pipe, then closed descriptors (the last counts)", "JOBS0002", f =>
        {
            var (r, w) = f.Pipe();
            return M($" -j4 --jobserver-auth={r},{w} --jobserver-auth={f.ClosedDescriptor()},{f.ClosedDescriptor(950)}");
        });
        yield return new("several --jobserver-auth: a pipe, then a regular file", "JOBS0003", f =>
        {
            var (r, w) = f.Pipe();
            var file = f.OpenFile("last", OpenFlags.O_RDWR);
            return M($" -j4 --jobserver-auth={r},{w} --jobserver-auth={file},{file}");
        });

        // fifo:PATH.
        yield return new("fifo: path that does not exist", "JOBS0007", f => M(" -j4 --jobserver-auth=fifo:" + Path.Combine(f.Directory, "gone")));
        yield return new("fifo: path in a directory that does not exist", "JOBS0007", _ => M(" -j4 --jobserver-auth=fifo:/nonexistent/GMfifo1"));
        yield return new("fifo: symlink to a private FIFO", "JOBS0008", f => M(" -j4 --jobserver-auth=fifo:" + f.Symlink("link", f.Fifo("target"))));
        yield return new("fifo: symlink to a regular file", "JOBS0008", f => M(" -j4 --jobserver-auth=fifo:" + f.Symlink("link", f.RegularFile("file"))));
        yield return new("fifo: symlink to /dev/null", "JOBS0008", f => M(" -j4 --jobserver-auth=fifo:" + f.Symlink("link", "/dev/null")));
        yield return new("fifo: dangling symlink", "JOBS0008", f => M(" -j4 --jobserver-auth=fifo:" + f.Symlink("link", "/nonexistent/target")));
        yield return new("fifo: /proc/self/fd/N of a real pipe", "JOBS0008", f => M(" -j4 --jobserver-auth=fifo:/proc/self/fd/" + f.Pipe().R));
        yield return new("fifo: a regular file", "JOBS0009", f => M(" -j4 --jobserver-auth=fifo:" + f.RegularFile("file")));
        yield return new("fifo: a directory", "JOBS0009", f => M(" -j4 --jobserver-auth=fifo:" + f.Directory));
        yield return new("fifo: /dev/null", "JOBS0009", _ => M(" -j4 --jobserver-auth=fifo:/dev/null"));
        yield return new("fifo: a Unix socket", "JOBS0009", f => M(" -j4 --jobserver-auth=fifo:" + f.BoundSocket("sock")));
        yield return new("fifo: a FIFO owned by another user", "JOBS0010", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("theirs", "600", uid: 65534)));
        yield return new("fifo: a world-writable FIFO", "JOBS0010", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("open", "666")));
        yield return new("fifo: a group-writable FIFO", "JOBS0010", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("group", "620")));
        yield return new("fifo: path with a space (cut at the space; the FIFO is never reached)", "JOBS0007", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("a b/fifo")));
        yield return new("fifo: path with a space whose first part is a file", "JOBS0009", f =>
        {
            var fifo = f.Fifo("x y");
            f.RegularFile("x");
            return M(" -j4 --jobserver-auth=fifo:" + fifo);
        });
        yield return new("fifo: path with a newline", "JOBS0007", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("new\nline")));
        yield return new("fifo: path with double quotes, world-writable", "JOBS0010", f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("q\"uo\"te", "666")));
        yield return new("fifo: path wrapped in single quotes", "JOBS0007", f => M(" -j4 --jobserver-auth=fifo:'" + f.Fifo("quoted") + "'"));
        yield return new("fifo: with no path", "JOBS0001", _ => M(" -j4 --jobserver-auth=fifo:"));
        yield return new("fifo: relative path", "JOBS0007", _ => M(" -j4 --jobserver-auth=fifo:GMfifo-relative-nonexistent"));

        // Semaphore names, which mean nothing on Unix (and must never be taken for a path).
        yield return new("gmake semaphore name", "JOBS0013", _ => M(" -j4 --jobserver-auth=gmake_semaphore_1234"));
        yield return new("semaphore name that looks like a path", "JOBS0013", _ => M(" -j4 --jobserver-auth=/dev/shm/sem.jobs"));
        yield return new("semaphore name from CARGO_MAKEFLAGS", "JOBS0013", _ => new() { ["CARGO_MAKEFLAGS"] = " -j4 --jobserver-fds=msbuild_jobserver_1_ab --jobserver-auth=msbuild_jobserver_1_ab" });

        // Garbage and empty values.
        yield return new("garbage read descriptor", "JOBS0001", _ => M(" -j4 --jobserver-auth=x,4"));
        yield return new("empty read descriptor", "JOBS0001", _ => M(" -j4 --jobserver-auth=,4"));
        yield return new("three descriptors", "JOBS0001", _ => M(" -j4 --jobserver-auth=3,4,5"));
        yield return new("signed descriptors", "JOBS0001", _ => M(" -j4 --jobserver-auth=+3,+4"));
        yield return new("a single descriptor", "JOBS0001", _ => M(" -j4 --jobserver-auth=3"));
        yield return new("empty --jobserver-auth=", "JOBS0001", _ => M(" -j4 --jobserver-auth="));
        yield return new("bare --jobserver-auth with the value as the next word", "JOBS0001", _ => M(" -j4 --jobserver-auth 3,4"));
        yield return new("several --jobserver-auth, the last one garbage", "JOBS0001", f => { var (r, w) = f.Pipe(); return M($" -j4 --jobserver-auth={r},{w} --jobserver-auth=garbage,"); });
        yield return new("CARGO_MAKEFLAGS garbage hides a real pipe in MAKEFLAGS", "JOBS0001", f =>
        {
            var (r, w) = f.Pipe();
            return new() { ["CARGO_MAKEFLAGS"] = "--jobserver-auth=%%%,", ["MAKEFLAGS"] = Auth(r, w) };
        });
        yield return new("MFLAGS only, descriptors closed", "JOBS0002", f => new() { ["MFLAGS"] = Auth(f.ClosedDescriptor(), f.ClosedDescriptor(950)) });
        yield return new("empty MAKEFLAGS", None, _ => M(""));
        yield return new("whitespace MAKEFLAGS", None, _ => M(" \t "));
        yield return new("empty CARGO_MAKEFLAGS does not hide closed descriptors in MAKEFLAGS", "JOBS0002", f =>
            new() { ["CARGO_MAKEFLAGS"] = "", ["MAKEFLAGS"] = Auth(f.ClosedDescriptor(), f.ClosedDescriptor(950)) });
        yield return new("a jobserver word after -- (a variable definition)", None, f => { var (r, w) = f.Pipe(); return M($" -j4 -- FOO=--jobserver-auth={r},{w}"); });
        yield return new("-j only", None, _ => M(" -j"));

        // Controls: real jobservers are joined, so the assertions above can tell the difference.
        yield return new("control: an inherited pipe", Joined, f => { var (r, w) = f.Pipe(); return M(Auth(r, w)); });
        yield return new("control: an empty CARGO_MAKEFLAGS does not hide a real pipe in MAKEFLAGS", Joined, f =>
        {
            var (r, w) = f.Pipe();
            return new() { ["CARGO_MAKEFLAGS"] = "", ["MAKEFLAGS"] = Auth(r, w) };
        });
        yield return new("control: a private FIFO with a quote in its path", Joined, f => M(" -j4 --jobserver-auth=fifo:" + f.Fifo("it's")));
    }

    /// <summary>One case: how to make it, and the one code it must produce.</summary>
    private sealed record HostileCase(string Name, string Expected, Func<HostileInputFixture, Dictionary<string, string>> Setup, bool WorkerNode = false);
}
