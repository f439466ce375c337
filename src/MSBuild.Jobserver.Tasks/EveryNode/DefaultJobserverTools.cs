using System;
using System.Collections.Generic;
using System.Linq;
using System.Xml.Linq;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>
/// The JobserverTool items the package's props add by default, for a task that runs where those props were not
/// evaluated (ConfigureJobserver did not run). The props are the one list, the one users see and extend: this reads
/// it from a copy of them embedded at build time, from the ItemGroup labelled for the platform.
/// </summary>
internal static class DefaultJobserverTools
{
    /// <summary>The props' default tools for <paramref name="family"/> ("POSIX" or "Windows", see PoolPlatform.Family), in the props' order.</summary>
    public static IReadOnlyList<JobserverToolSpec> For(string family)
    {
        using var props = typeof(DefaultJobserverTools).Assembly.GetManifestResourceStream("MSBuild.Jobserver.props");
        if (props is null)
        {
            // Only a build of this assembly without its props could get here; unit tests would fail first.
            return Array.Empty<JobserverToolSpec>();
        }

        // The Labels of the props' two lists.
        var label = "DefaultJobserverTools:" + family;
        return XDocument.Load(props).Descendants()
            .Where(e => e.Name.LocalName == "ItemGroup" && (string?)e.Attribute("Label") == label)
            .Elements()
            .Where(e => e.Name.LocalName == "JobserverTool")
            .SelectMany(e => ((string?)e.Attribute("Include") ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(name => JobserverToolSpec.FromItem(name, (string?)e.Attribute("MakeflagsForm") ?? "")))
            .ToList();
    }
}
