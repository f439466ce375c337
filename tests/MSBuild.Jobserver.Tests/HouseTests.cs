using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 21: the source stays a house a newcomer can walk. Read from src/ as text (declared types, the types each file
/// names where its namespace and usings let it see them): no folder reaches back into itself through others, the tasks
/// hold no platform check, one token's way lives in one library folder, and the docs' map names every folder.
/// </summary>
[TestClass]
public sealed class HouseTests
{
    private static readonly Regex Declaration = new(
        @"^(?:(?:public|internal|private|protected|sealed|static|abstract|readonly|partial|file)\s+)*(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+([A-Z]\w*)",
        RegexOptions.Multiline);

    private static readonly Regex CommentsAndStrings = new(@"//[^\n]*|@""(?:""""|[^""])*""|""(?:\\.|[^""\\\n])*""|'(?:\\.|[^'\\\n])'");

    private static readonly Regex Identifier = new(@"\b[A-Z]\w*\b");

    [TestMethod]
    public void NoFolderReachesBackIntoItself()
    {
        var graph = FolderGraph();
        foreach (var start in graph.Keys)
        {
            var path = CycleThrough(graph, start);
            Assert.IsNull(path, "folders use each other in a circle: " + string.Join(" -> ", path ?? new List<string>()));
        }
    }

    [TestMethod]
    public void TheTasksHoldNoPlatformCheckAndNoProcPath()
    {
        var forbidden = new[] { "IsWindows", "RuntimeInformation", "OSPlatform", "/proc", "PosixCalls", "Mono.Unix" };
        foreach (var file in SourceFiles().Where(f => f.Folder.StartsWith("MSBuild.Jobserver.Tasks/", StringComparison.Ordinal)))
        {
            var code = Regex.Replace(File.ReadAllText(file.Path), @"//[^\n]*", "");
            foreach (var word in forbidden)
            {
                Assert.IsFalse(code.Contains(word, StringComparison.Ordinal), $"{file.Folder}/{System.IO.Path.GetFileName(file.Path)} says '{word}': the platform is the library's (PoolPlatform).");
            }
        }
    }

    [TestMethod]
    public void ThePlatformIsAskedOnlyWhereItIsChosenOrImplemented()
    {
        var allowed = new[] { "MSBuild.Jobserver/Platform", "MSBuild.Jobserver/Posix", "MSBuild.Jobserver/Windows" };
        foreach (var file in SourceFiles().Where(f => !allowed.Contains(f.Folder)))
        {
            var code = Regex.Replace(File.ReadAllText(file.Path), @"//[^\n]*", "");
            foreach (var word in new[] { "RuntimeInformation", "OSPlatform", "IsWindows", "DllImport" })
            {
                Assert.IsFalse(code.Contains(word, StringComparison.Ordinal), $"{file.Folder}/{System.IO.Path.GetFileName(file.Path)} says '{word}': ask PoolPlatform, or put the platform's code in Posix/ or Windows/.");
            }
        }
    }

    [TestMethod]
    public void OneTokensWayIsInOneLibraryFolder()
    {
        var way = new[] { "PoolConnection", "HeldToken", "Lease", "LedgerLock", "TokenLedger", "LedgerJournal", "TokenHold", "ChildEnvironment", "BuildJobserverHandle" };
        var declared = Declarations();
        var folders = way.Select(t => declared.TryGetValue(t, out var file) ? file.Folder : "(nowhere: " + t + ")").Distinct().ToList();
        CollectionAssert.AreEqual(new[] { "MSBuild.Jobserver/Tokens" }, folders, "a token's way (out, hand-over, back) is spread over " + string.Join(", ", folders));
    }

    [TestMethod]
    public void TheDocsMapNamesEveryFolder()
    {
        var map = File.ReadAllText(System.IO.Path.Combine(TestSupport.RepositoryRoot(), "docs", "how-it-works.md"));
        foreach (var folder in SourceFiles().Select(f => f.Folder).Distinct())
        {
            StringAssert.Contains(map, "src/" + folder + "/", "docs/how-it-works.md's map of the code misses a folder");
        }
    }

    private static List<SourceFile> SourceFiles()
    {
        var src = System.IO.Path.Combine(TestSupport.RepositoryRoot(), "src");
        return Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Select(p => p.Replace('\\', '/'))
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .Select(p => new SourceFile(p, System.IO.Path.GetRelativePath(src, System.IO.Path.GetDirectoryName(p)!).Replace('\\', '/')))
            .ToList();
    }

    private static Dictionary<string, SourceFile> Declarations()
    {
        var declared = new Dictionary<string, SourceFile>(StringComparer.Ordinal);
        foreach (var file in SourceFiles())
        {
            foreach (Match m in Declaration.Matches(CommentsAndStrings.Replace(File.ReadAllText(file.Path), "")))
            {
                declared.TryAdd(m.Groups[1].Value, file);
            }
        }

        return declared;
    }

    // Folder -> the folders whose types its files name (a name counts where the file's namespace or usings see it).
    private static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var declared = Declarations();
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles())
        {
            var text = File.ReadAllText(file.Path);
            var code = CommentsAndStrings.Replace(text, "");
            var visible = Regex.Matches(text, @"^using ([\w.]+);", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            var own = Namespace(text);
            var edges = graph.TryGetValue(file.Folder, out var known) ? known : graph[file.Folder] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in Identifier.Matches(code).Select(m => m.Value).Distinct())
            {
                if (!declared.TryGetValue(name, out var target) || target.Folder == file.Folder)
                {
                    continue;
                }

                var theirs = Namespace(File.ReadAllText(target.Path));
                var sees = theirs == own || own.StartsWith(theirs + ".", StringComparison.Ordinal) || visible.Contains(theirs)
                    || code.Contains(theirs.Split('.').Last() + "." + name, StringComparison.Ordinal);
                if (sees)
                {
                    edges.Add(target.Folder);
                }
            }
        }

        return graph;
    }

    private static string Namespace(string text) => Regex.Match(text, @"^namespace ([\w.]+)", RegexOptions.Multiline).Groups[1].Value;

    // A path start -> ... -> start, or null when none exists.
    private static List<string>? CycleThrough(Dictionary<string, HashSet<string>> graph, string start)
    {
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>(new[] { start });
        while (queue.Count > 0)
        {
            var at = queue.Dequeue();
            foreach (var next in graph.TryGetValue(at, out var edges) ? edges : new HashSet<string>())
            {
                if (next == start)
                {
                    var path = new List<string> { start };
                    for (var step = at; step != start; step = from[step])
                    {
                        path.Insert(1, step);
                    }

                    path.Add(start);
                    return path;
                }

                if (from.TryAdd(next, at))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return null;
    }

    private sealed record SourceFile(string Path, string Folder);
}
