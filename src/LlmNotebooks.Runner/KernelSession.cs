using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace LlmNotebooks.Runner;

/// <summary>What one cell produced: Jupyter-format outputs, whether it succeeded, and the error when it did not.</summary>
public sealed record CellResult(IReadOnlyList<JsonObject> Outputs, bool Succeeded, string? Error, TimeSpan Duration, bool TimedOut);

/// <summary>
/// The real notebook kernel, the one VS Code Polyglot Notebooks and Jupyter start: the pinned
/// Microsoft.dotnet-interactive tool (.config/dotnet-tools.json), driven over its stdio protocol — one JSON
/// command per line in (SubmitCode), one JSON event per line out (DisplayedValueProduced, CommandSucceeded, ...).
/// </summary>
public sealed class KernelSession : IAsyncDisposable
{
    static readonly SemaphoreSlim ToolRestore = new(1, 1);
    static bool _toolRestored;

    readonly Process _process;
    readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    readonly StringBuilder _stderr = new();
    int _submissions;
    int _executionCount;

    /// <summary>Seconds from process start to the kernel's KernelReady event.</summary>
    public TimeSpan StartupTime { get; private set; }

    // Kernels still running when the runner is stopped (Ctrl+C, or the test host ending) are killed with it:
    // a kernel left without its client keeps a CPU core busy.
    static readonly HashSet<Process> Live = [];

    static KernelSession()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    static void KillAll()
    {
        lock (Live)
            foreach (var p in Live)
                try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    KernelSession(Process process)
    {
        _process = process;
        lock (Live) Live.Add(process);
    }

    /// <summary>Starts a kernel whose working directory is <paramref name="workingDirectory"/> (the notebook's folder, as in VS Code).</summary>
    public static async Task<KernelSession> StartAsync(string repoRoot, string workingDirectory, TimeSpan timeout)
    {
        await EnsureToolRestoredAsync(repoRoot);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = repoRoot, // where the tool manifest is
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "tool", "run", "dotnet-interactive", "--", "stdio", "--default-kernel", "csharp", "--working-dir", workingDirectory })
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        var clock = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start `dotnet tool run dotnet-interactive`.");
        var session = new KernelSession(process);
        _ = Task.Run(session.ReadEventsAsync);
        _ = Task.Run(session.ReadErrorsAsync);

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var e = await session._events.Reader.ReadAsync(cts.Token);
                if (e["eventType"]?.GetValue<string>() == "KernelReady") break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            string why = ex is OperationCanceledException ? $"did not report ready within {timeout.TotalSeconds:F0} s" : "exited before it was ready";
            await session.DisposeAsync();
            throw new KernelException($"The notebook kernel (dotnet-interactive) {why}.{session.StderrTail()}");
        }
        session.StartupTime = clock.Elapsed;
        return session;
    }

    /// <summary>Runs one cell's code and collects what it displays, until the kernel says it succeeded or failed.</summary>
    /// <param name="code">The cell's source.</param>
    /// <param name="kernelName">The subkernel that runs it ("csharp").</param>
    /// <param name="timeout">The cell's time limit, or <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <param name="stillRunning">Called every <paramref name="progressEvery"/> while the cell runs, with the time so far (from a timer thread).</param>
    /// <param name="progressEvery">How often <paramref name="stillRunning"/> is called.</param>
    public async Task<CellResult> RunAsync(string code, string kernelName, TimeSpan timeout, Action<TimeSpan>? stillRunning = null, TimeSpan? progressEvery = null)
    {
        string token = $"llmnb-{Interlocked.Increment(ref _submissions)}";
        var command = new JsonObject
        {
            ["token"] = token,
            ["commandType"] = "SubmitCode",
            ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
        };
        var clock = Stopwatch.StartNew();
        await _process.StandardInput.WriteLineAsync(command.ToJsonString());
        await _process.StandardInput.FlushAsync();

        int executionCount = ++_executionCount;
        var outputs = new List<JsonObject>();
        var displays = new Dictionary<string, JsonObject>();
        var diagnostics = new List<string>();
        using var cts = new CancellationTokenSource(timeout);
        var every = progressEvery ?? TimeSpan.FromSeconds(30);
        using var heartbeat = stillRunning is null || every <= TimeSpan.Zero ? null : new Timer(_ => stillRunning(clock.Elapsed), null, every, every);
        while (true)
        {
            JsonObject e;
            try { e = await _events.Reader.ReadAsync(cts.Token); }
            catch (OperationCanceledException)
            {
                return new CellResult(outputs, false, $"The cell did not finish within {timeout.TotalSeconds:F0} s (the per-cell time limit; " +
                    "raise it with --cell-timeout SECONDS if the cell is meant to run longer).", clock.Elapsed, TimedOut: true);
            }
            catch (ChannelClosedException)
            {
                return new CellResult(outputs, false, $"The kernel exited (code {ExitCode()}) while running this cell.{StderrTail()}", clock.Elapsed, false);
            }

            string? eventToken = e["command"]?["token"]?.GetValue<string>();
            if (eventToken != token && eventToken?.StartsWith(token + ".", StringComparison.Ordinal) != true) continue;
            var body = e["event"] as JsonObject ?? [];
            switch (e["eventType"]?.GetValue<string>())
            {
                case "ReturnValueProduced":
                    outputs.Add(new JsonObject { ["output_type"] = "execute_result", ["data"] = Data(body), ["execution_count"] = executionCount, ["metadata"] = new JsonObject() });
                    break;
                case "DisplayedValueProduced":
                    var display = new JsonObject { ["output_type"] = "display_data", ["data"] = Data(body), ["metadata"] = new JsonObject() };
                    outputs.Add(display);
                    if (body["valueId"]?.GetValue<string>() is { } id) displays[id] = display;
                    break;
                case "DisplayedValueUpdated":
                    if (body["valueId"]?.GetValue<string>() is { } updated && displays.TryGetValue(updated, out var shown))
                        shown["data"] = Data(body);
                    break;
                case "StandardOutputValueProduced":
                    AppendStream(outputs, "stdout", Text(body));
                    break;
                case "StandardErrorValueProduced":
                    AppendStream(outputs, "stderr", Text(body));
                    break;
                case "DiagnosticsProduced":
                    foreach (var d in body["diagnostics"]?.AsArray() ?? [])
                        if (string.Equals(d?["severity"]?.GetValue<string>(), "error", StringComparison.OrdinalIgnoreCase)) diagnostics.Add(d?["message"]?.GetValue<string>() ?? "");
                    break;
                case "CommandSucceeded" when eventToken == token:
                    return new CellResult(outputs, true, null, clock.Elapsed, false);
                case "CommandFailed" when eventToken == token:
                    string message = body["message"]?.GetValue<string>() ?? "The cell failed.";
                    outputs.Add(new JsonObject
                    {
                        ["output_type"] = "error",
                        ["ename"] = "Error",
                        ["evalue"] = message,
                        ["traceback"] = new JsonArray(message.Split('\n').Select(l => (JsonNode)l).ToArray()),
                    });
                    if (diagnostics.Count > 0 && !diagnostics.All(message.Contains)) message += "\n" + string.Join("\n", diagnostics);
                    return new CellResult(outputs, false, message, clock.Elapsed, false);
            }
        }
    }

    static JsonObject Data(JsonObject body)
    {
        var data = new JsonObject();
        foreach (var v in body["formattedValues"]?.AsArray() ?? [])
            if (v?["mimeType"]?.GetValue<string>() is { } mime) data[mime] = v["value"]?.GetValue<string>() ?? "";
        return data;
    }

    static string Text(JsonObject body) =>
        string.Concat((body["formattedValues"]?.AsArray() ?? []).Select(v => v?["value"]?.GetValue<string>() ?? ""));

    static void AppendStream(List<JsonObject> outputs, string name, string text)
    {
        if (outputs.Count > 0 && outputs[^1]["output_type"]?.GetValue<string>() == "stream" && outputs[^1]["name"]?.GetValue<string>() == name)
            outputs[^1]["text"] = (outputs[^1]["text"]?.GetValue<string>() ?? "") + text;
        else
            outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = name, ["text"] = text });
    }

    async Task ReadEventsAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith('{')) continue; // the banner and other plain text
                try
                {
                    if (JsonNode.Parse(line) is JsonObject o && o.ContainsKey("eventType")) await _events.Writer.WriteAsync(o);
                }
                catch (JsonException) { }
            }
        }
        finally { _events.Writer.TryComplete(); }
    }

    async Task ReadErrorsAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
            lock (_stderr) { _stderr.AppendLine(line); if (_stderr.Length > 20_000) _stderr.Remove(0, _stderr.Length - 20_000); }
    }

    string ExitCode() => _process.HasExited ? _process.ExitCode.ToString() : "?";

    string StderrTail()
    {
        lock (_stderr)
        {
            string text = _stderr.ToString().Trim();
            return text.Length == 0 ? "" : "\nKernel stderr (last lines):\n" + string.Join("\n", text.Split('\n').TakeLast(15));
        }
    }

    static async Task EnsureToolRestoredAsync(string repoRoot)
    {
        await ToolRestore.WaitAsync();
        try
        {
            if (_toolRestored) return;
            var start = new ProcessStartInfo("dotnet", "tool restore") { WorkingDirectory = repoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using var p = Process.Start(start)!;
            string output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new KernelException($"`dotnet tool restore` failed in {repoRoot} (exit {p.ExitCode}):\n{output}");
            _toolRestored = true;
        }
        finally { ToolRestore.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(2000)) _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException) { }
        lock (Live) Live.Remove(_process);
        _process.Dispose();
    }
}

/// <summary>The kernel could not be started or stopped working.</summary>
public sealed class KernelException(string message) : Exception(message);
