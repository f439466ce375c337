using Microsoft.Build.Execution;
using Microsoft.Build.Framework;
using Microsoft.Build.Logging;

// Usage:
//   WindowsMSBuildHost <project> <nodes> [Name=Value ...]   build the project's default targets with that many nodes;
//                                                            the log (detailed) goes to stdout; exit code 0 = success
//   WindowsMSBuildHost /nodemode:1 ...                       a worker node (MSBuild starts this same executable)
if (args.Any(a => a.StartsWith("/nodemode:", StringComparison.OrdinalIgnoreCase)))
{
    var node = new OutOfProcNode();
    var reason = node.Run(enableReuse: false, lowPriority: false, out var shutdownException);
    return reason == NodeEngineShutdownReason.Error || shutdownException is not null ? 1 : 0;
}

var project = args[0];
var nodes = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var properties = args.Skip(2).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
var parameters = new BuildParameters
{
    MaxNodeCount = nodes,
    EnableNodeReuse = false,
    NodeExeLocation = Environment.ProcessPath!,
    Loggers = new ILogger[] { new ConsoleLogger(LoggerVerbosity.Detailed) },
};
var result = BuildManager.DefaultBuildManager.Build(parameters, new BuildRequestData(project, properties, null, new[] { "Build" }, null));
Console.WriteLine("HOST-RESULT " + result.OverallResult);
return result.OverallResult == BuildResultCode.Success ? 0 : 1;
