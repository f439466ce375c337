using System.Collections;
using System.Diagnostics;
using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EntryProcess;
using Microsoft.Build.Framework;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 18: a jobserver pipe inherited from make stops being inheritable once the package has validated it, is closed
/// when the build ends in the process, and a build server still holding it is found by PID (JOBS0060).
/// </summary>
[TestClass]
public sealed class InheritedDescriptorsTests
{
    private const int CloseOnExec = 1; // FD_CLOEXEC

    private readonly List<int> _fds = new();

    [TestCleanup]
    public void CloseDescriptors() => _fds.ForEach(fd => Syscall.close(fd));

    [TestMethod]
    public void HidesAnInheritedPipeKeepsItsValidationAndClosesItWhenTheBuildEnds()
    {
        var (r, w) = InheritablePipe();
        var engine = new BuildLifetimeEngine();
        var environment = new Dictionary<string, string?> { ["MAKEFLAGS"] = $" -j3 --jobserver-auth={r},{w}" };

        InheritedDescriptors.Hide(engine, n => environment.GetValueOrDefault(n));

        Assert.AreEqual(CloseOnExec, Syscall.fcntl(r, FcntlCommand.F_GETFD) & CloseOnExec, "the read end is still inheritable");
        Assert.AreEqual(CloseOnExec, Syscall.fcntl(w, FcntlCommand.F_GETFD) & CloseOnExec, "the write end is still inheritable");
        var kept = InheritedDescriptors.HiddenValidation(engine, JobserverAuth.Pipe(r, w));
        Assert.IsTrue(kept is { IsValid: true }, "the validation made before hiding must be kept for the rendezvous");
        Assert.IsFalse(JobserverValidator.Validate(JobserverAuth.Pipe(r, w)).IsValid, "control: validated again, a hidden pipe looks opened by this process");
        Assert.HasCount(1, InheritedDescriptors.HiddenPipes(engine)!);

        engine.EndBuild();

        Assert.AreEqual(-1, Syscall.fcntl(r, FcntlCommand.F_GETFD), "the read end is still open after the build");
        Assert.AreEqual(-1, Syscall.fcntl(w, FcntlCommand.F_GETFD), "the write end is still open after the build");
        Assert.IsNull(InheritedDescriptors.HiddenValidation(engine, JobserverAuth.Pipe(r, w)));
    }

    [TestMethod]
    public void LeavesADescriptorThisProcessOpenedItselfAlone()
    {
        Assert.AreEqual(0, Syscall.pipe(out var r, out var w));
        _fds.Add(r);
        _fds.Add(w);
        Syscall.fcntl(r, FcntlCommand.F_SETFD, CloseOnExec);
        Syscall.fcntl(w, FcntlCommand.F_SETFD, CloseOnExec);
        var engine = new BuildLifetimeEngine();

        InheritedDescriptors.Hide(engine, n => n == "MAKEFLAGS" ? $" -j3 --jobserver-auth={r},{w}" : null);
        engine.EndBuild();

        Assert.IsNull(InheritedDescriptors.HiddenPipes(engine), "nothing hidden, nothing to look for");
        Assert.AreNotEqual(-1, Syscall.fcntl(r, FcntlCommand.F_GETFD), "a descriptor that was not inherited must never be closed");
    }

    [TestMethod]
    public void FindsABuildServerThatInheritedThePipeAndNotOneStartedAfterItWasHidden()
    {
        var (r, w) = InheritablePipe();
        Assert.AreEqual(0, Syscall.fstat(r, out var stat));
        var pipe = new PipeIdentity(stat.st_dev, stat.st_ino);
        using var before = StartServerLookalike();
        var engine = new BuildLifetimeEngine();
        InheritedDescriptors.Hide(engine, n => n == "MAKEFLAGS" ? $" -j3 --jobserver-auth={r},{w}" : null);
        using var after = StartServerLookalike();
        try
        {
            var holders = PoolPlatform.LingeringPipeHolders(new[] { pipe });

            Assert.IsTrue(holders.Any(h => h.ProcessId == before.Id && h.Kind.Contains("VBCSCompiler")), $"the process started before hiding is not named: [{string.Join(", ", holders)}]");
            Assert.IsFalse(holders.Any(h => h.ProcessId == after.Id), "a process started after hiding cannot hold the pipe");
        }
        finally
        {
            before.Kill();
            after.Kill();
            before.WaitForExit();
            after.WaitForExit();
            engine.EndBuild();
        }
    }

    // A shell whose command line names VBCSCompiler, as the compiler server's does; it lives until killed.
    private static Process StartServerLookalike()
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("sleep 60; :");
        info.ArgumentList.Add("VBCSCompiler");
        return Process.Start(info)!;
    }

    // A pipe as make hands it down: both ends inheritable (close-on-exec clear).
    private (int Read, int Write) InheritablePipe()
    {
        Assert.AreEqual(0, Syscall.pipe(out var r, out var w));
        _fds.Add(r);
        _fds.Add(w);
        return (r, w);
    }

    // Just enough of MSBuild's engine for Build-lifetime registrations, which EndBuild disposes as MSBuild does.
    private sealed class BuildLifetimeEngine : IBuildEngine4
    {
        private readonly Dictionary<object, object> _objects = new();

        public bool IsRunningMultipleNodes => false;

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public void EndBuild()
        {
            foreach (var value in _objects.Values.OfType<IDisposable>())
            {
                value.Dispose();
            }

            _objects.Clear();
        }

        public void RegisterTaskObject(object key, object obj, RegisteredTaskObjectLifetime lifetime, bool allowEarlyCollection) => _objects[key] = obj;

        public object? GetRegisteredTaskObject(object key, RegisteredTaskObjectLifetime lifetime) => _objects.GetValueOrDefault(key);

        public object? UnregisterTaskObject(object key, RegisteredTaskObjectLifetime lifetime) => _objects.Remove(key, out var value) ? value : null;

        public void LogErrorEvent(BuildErrorEventArgs e)
        {
        }

        public void LogWarningEvent(BuildWarningEventArgs e)
        {
        }

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
        }

        public void LogCustomEvent(CustomBuildEventArgs e)
        {
        }

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => throw new NotSupportedException();

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs, string toolsVersion) => throw new NotSupportedException();

        public bool BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties, IDictionary[] targetOutputsPerProject, string[] toolsVersion, bool useResultsCache, bool unloadProjectsOnCompletion) => throw new NotSupportedException();

        public BuildEngineResult BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties, IList<string>[] removeGlobalProperties, string[] toolsVersion, bool returnTargetOutputs) => throw new NotSupportedException();

        public void Yield()
        {
        }

        public void Reacquire()
        {
        }
    }
}
