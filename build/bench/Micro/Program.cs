using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MSBuild.Jobserver.Micro;

/// <summary>
/// Entry point. Benchmarks run in-process (InProcessEmitToolchain): no generated project has to be
/// restored and built, which keeps the run offline-safe and short on a 2-core machine.
/// <c>--quick</c> selects BenchmarkDotNet's ShortRun job; every other argument goes to BenchmarkDotNet
/// (for example <c>--filter '*RoundTrip*'</c>). With no <c>--filter</c>, every benchmark runs.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var quick = args.Contains("--quick");
        args = args.Where(a => a != "--quick").ToArray();
        if (!args.Contains("--filter"))
        {
            args = args.Concat(new[] { "--filter", "*" }).ToArray();
        }

        var job = (quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = DefaultConfig.Instance.AddJob(job.AsDefault());
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
