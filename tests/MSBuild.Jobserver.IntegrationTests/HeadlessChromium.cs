using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.BrowserTesting;

/// <summary>What loading a page in the browser gave.</summary>
internal sealed record PageLoad(double LoadEventEndMs, double FirstContentfulPaintMs, IReadOnlyList<string> ConsoleErrors, IReadOnlyList<string> Requests);

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol (a WebSocket on a local port): loads a page,
/// collects console errors, uncaught exceptions and every network request, evaluates expressions in the page and
/// takes full-page screenshots. Shared by the unit and end-to-end tests (linked source).
/// </summary>
internal sealed partial class HeadlessChromium : IDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The browser's path; build/ci/report.sh installs it.</summary>
    public static string? Executable { get; } =
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    /// <summary>Starts the browser with an empty profile under <paramref name="workDirectory"/> and attaches to its page.</summary>
    public static HeadlessChromium Start(string workDirectory)
    {
        var executable = Executable;
        if (executable is null)
        {
            Prerequisite.Missing("Debian's chromium, installed by build/ci/report.sh");
        }

        var profile = Path.Combine(workDirectory, "chromium-profile-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0",
            "--window-size=1280,900", "about:blank",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new AssertFailedException("chromium did not start");
        var browser = new HeadlessChromium(process, profile);
        try
        {
            browser.Attach();
            return browser;
        }
        catch
        {
            browser.Dispose();
            throw;
        }
    }

    /// <summary>Loads <paramref name="file"/> and waits for its load event (and its timing entries).</summary>
    public PageLoad Open(string file)
    {
        _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _errors.Clear();
        _requests.Clear();
        Send("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(file)).AbsoluteUri });
        Assert.IsTrue(_loaded.Task.Wait(TimeSpan.FromSeconds(30)), "the page did not finish loading in 30 s");

        // Both timing entries can land a little after the load event (headless paints late): poll for them. Their
        // values are times since the navigation started, so waiting here does not change what they measure.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        double loadEnd = 0, paint = -1;
        while (DateTime.UtcNow < deadline)
        {
            loadEnd = Evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd").GetValue<double>();
            paint = Evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime").GetValue<double>();
            if (loadEnd > 0 && paint >= 0)
            {
                break;
            }

            Thread.Sleep(20);
        }

        return new PageLoad(loadEnd, paint, _errors.ToList(), _requests.ToList());
    }

    /// <summary>The value of <paramref name="expression"/> in the page (returned by value).</summary>
    public JsonNode Evaluate(string expression)
    {
        var result = Send("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result?["exceptionDetails"] is { } exception)
        {
            throw new AssertFailedException("evaluating '" + expression + "' threw: " + exception.ToJsonString());
        }

        return result?["result"]?["value"] ?? throw new AssertFailedException("evaluating '" + expression + "' returned nothing");
    }

    /// <summary>A PNG of the whole page (not only the window) at <paramref name="path"/>.</summary>
    public void Screenshot(string path)
    {
        var metrics = Send("Page.getLayoutMetrics", new JsonObject());
        var size = metrics?["cssContentSize"] ?? metrics?["contentSize"];
        var clip = new JsonObject
        {
            ["x"] = 0, ["y"] = 0, ["scale"] = 1,
            ["width"] = Math.Ceiling(size?["width"]?.GetValue<double>() ?? 1280),
            ["height"] = Math.Ceiling(size?["height"]?.GetValue<double>() ?? 900),
        };
        var shot = Send("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true, ["clip"] = clip });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, Convert.FromBase64String(shot?["data"]?.GetValue<string>() ?? ""));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // A renderer may still be writing its profile as it dies; the fixture's directory is removed later.
        }
    }

    private void Attach()
    {
        // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" once it is ready.
        string? line;
        Match match = Match.Empty;
        var stderr = new StringBuilder();
        var reading = Task.Run(() =>
        {
            while ((line = _process.StandardError.ReadLine()) is not null)
            {
                stderr.AppendLine(line);
                match = ListeningPattern().Match(line);
                if (match.Success)
                {
                    return;
                }
            }
        });
        if (!reading.Wait(TimeSpan.FromSeconds(30)) || !match.Success)
        {
            throw new AssertFailedException("chromium did not open its DevTools port:\n" + stderr);
        }

        // Keep draining both pipes so the browser never blocks on a full one.
        _ = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();

        using var http = new HttpClient();
        var targets = JsonNode.Parse(http.GetStringAsync($"http://127.0.0.1:{match.Groups["port"].Value}/json/list").Result)!.AsArray();
        var page = targets.First(t => t?["type"]?.GetValue<string>() == "page")!;
        _socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None).Wait(TimeSpan.FromSeconds(10));
        _ = Task.Run(ReceiveLoop);
        foreach (var domain in new[] { "Page.enable", "Runtime.enable", "Log.enable", "Network.enable" })
        {
            Send(domain, new JsonObject());
        }
    }

    private JsonNode? Send(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString();
        _socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None).Wait();
        Assert.IsTrue(reply.Task.Wait(TimeSpan.FromSeconds(30)), method + " got no answer in 30 s");
        return reply.Task.Result;
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, part.Count);
                if (part.EndOfMessage)
                {
                    Dispatch(JsonNode.Parse(message.ToArray()));
                    message.SetLength(0);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The browser is being closed.
        }
    }

    private void Dispatch(JsonNode? message)
    {
        if (message?["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var reply))
        {
            reply.TrySetResult(message["result"]);
            return;
        }

        var parameters = message?["params"];
        var method = message?["method"]?.GetValue<string>();
        var consoleType = method == "Runtime.consoleAPICalled" ? parameters?["type"]?.GetValue<string>() : null;
        var logLevel = method == "Log.entryAdded" ? parameters?["entry"]?["level"]?.GetValue<string>() : null;
        if (method == "Page.loadEventFired")
        {
            _loaded.TrySetResult();
        }
        else if (method == "Runtime.exceptionThrown")
        {
            _errors.Enqueue("exception: " + parameters?["exceptionDetails"]?.ToJsonString());
        }
        else if (consoleType is "error" or "assert")
        {
            _errors.Enqueue("console." + consoleType + ": " + parameters?["args"]?.ToJsonString());
        }
        else if (logLevel == "error")
        {
            _errors.Enqueue("log: " + parameters?["entry"]?["text"]);
        }
        else if (method == "Network.requestWillBeSent")
        {
            _requests.Enqueue(parameters?["request"]?["url"]?.GetValue<string>() ?? "");
        }
    }

    [GeneratedRegex(@"DevTools listening on ws://[^:]+:(?<port>\d+)/")]
    private static partial Regex ListeningPattern();
}
