using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using MSBuild.Jobserver.Posix;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// The pipe that wakes a cancelled wait (CancellationWake, made by PosixCalls.Pipe) and our copies of a jobserver's
/// descriptors (PosixCalls.Duplicate) are close-on-exec from their creation: a process another thread starts while
/// one is being made never inherits it.
/// </summary>
[TestClass]
public sealed class WakePipeTests
{
    private const int CloseOnExec = 1; // FD_CLOEXEC

    private static readonly Regex PipeLink = new(@"-> pipe:\[(\d+)\]");

    [TestMethod]
    public void BothEndsAreCloseOnExec()
    {
        var (read, write) = PosixCalls.Pipe();
        using (read)
        using (write)
        {
            Assert.AreEqual(CloseOnExec, read.Use(fd => Syscall.fcntl(fd, FcntlCommand.F_GETFD)) & CloseOnExec, "the read end is inheritable");
            Assert.AreEqual(CloseOnExec, write.Use(fd => Syscall.fcntl(fd, FcntlCommand.F_GETFD)) & CloseOnExec, "the write end is inheritable");
        }
    }

    /// <summary>
    /// One thread makes pipes while another starts processes that list their own descriptors; no child may hold one
    /// of the pipes. Old code (pipe, then fcntl): children caught pipes inside the window between the two.
    /// </summary>
    [TestMethod]
    public void AProcessStartedMeanwhileNeverInheritsTheWakePipe()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("Children's descriptors are listed through /proc.");
        }

        var made = new ConcurrentDictionary<ulong, byte>();
        var inherited = new ConcurrentDictionary<ulong, byte>();
        var childPipes = 0;
        using var stop = new CancellationTokenSource();
        var maker = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (read, write) = PosixCalls.Pipe();
                Assert.IsTrue(read.Use(fd => PosixCalls.TryFstat(fd, out var status, out _) && made.TryAdd(status.Inode, 0)), "a pipe's inode was not new");
                read.Dispose();
                write.Dispose();
            }
        });

        try
        {
            for (var i = 0; i < 300 && !maker.IsCompleted; i++)
            {
                foreach (var inode in ChildPipes())
                {
                    childPipes++;
                    inherited.TryAdd(inode, 0);
                }
            }
        }
        finally
        {
            stop.Cancel();
            maker.Wait();
        }

        Assert.IsGreaterThan(1000, made.Count, "control: too few pipes were made while children started");
        Assert.IsGreaterThanOrEqualTo(300, childPipes, "control: a child's own output pipe must show in its listing");
        var caught = inherited.Keys.Where(made.ContainsKey).ToList();
        Assert.IsEmpty(caught, $"{caught.Count} wake pipes were inherited by children (of {made.Count} made)");
    }

    [TestMethod]
    public void ACopyOfADescriptorIsCloseOnExec()
    {
        var (read, write) = PosixCalls.Pipe();
        using (read)
        using (write)
        using (var copy = read.Use(PosixCalls.Duplicate))
        {
            Assert.AreEqual(CloseOnExec, copy.Use(fd => Syscall.fcntl(fd, FcntlCommand.F_GETFD)) & CloseOnExec, "the copy is inheritable");
        }
    }

    /// <summary>
    /// One thread copies a close-on-exec pipe's end over and over while another starts processes that list their own
    /// descriptors; no child may hold the pipe. Old code (dup, then fcntl): a copy made inside the window leaked.
    /// </summary>
    [TestMethod]
    public void AProcessStartedMeanwhileNeverInheritsACopy()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("Children's descriptors are listed through /proc.");
        }

        var (read, write) = PosixCalls.Pipe();
        using (read)
        using (write)
        {
            Assert.IsTrue(read.Use(fd => PosixCalls.TryFstat(fd, out var status, out _) ? status.Inode : 0UL) is var inode && inode != 0, "the pipe's inode");
            var copies = 0;
            var inherited = 0;
            using var stop = new CancellationTokenSource();
            var copier = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    read.Use(PosixCalls.Duplicate).Dispose();
                    copies++;
                }
            });

            try
            {
                for (var i = 0; i < 300 && !copier.IsCompleted; i++)
                {
                    inherited += ChildPipes().Count(p => p == inode);
                }
            }
            finally
            {
                stop.Cancel();
                copier.Wait();
            }

            Assert.IsGreaterThan(1000, copies, "control: too few copies were made while children started");
            Assert.AreEqual(0, inherited, $"children inherited a copy of the pipe {inherited} times (of {copies} copies)");
        }
    }

    // The pipe inodes a child holds, listed by the child itself (ls of its /proc/self/fd): its stdout is one.
    private static IEnumerable<ulong> ChildPipes()
    {
        var start = new ProcessStartInfo("/bin/ls", "-l /proc/self/fd") { RedirectStandardOutput = true, UseShellExecute = false };
        using var child = Process.Start(start)!;
        var listing = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        return PipeLink.Matches(listing).Select(m => ulong.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }
}
