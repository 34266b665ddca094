import ArgumentParser
import Foundation
import JSON

/// `rewind bench-http`: the HTTP server under load while workers train (the README's benchmarks).
///
/// Starts `rewind serve` as a separate process (or uses `--url`), submits two training jobs, and
/// hammers `GET /v1/jobs/{id}` for both from `--connections` keep-alive clients on loopback.
public struct HTTPBenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench-http",
        abstract: "Benchmark the HTTP server under load while two jobs train.",
        discussion: """
            Exit status: 0 when every request succeeded, 1 if any failed, 2 if the benchmark \
            could not be set up (the server did not start, or would not take the jobs).
            """)

    @Option(name: .long, help: "Concurrent keep-alive connections.")
    var connections = 64

    @Option(name: .long, help: "Measured seconds, after the warm-up (at most 60).")
    var duration = 10.0

    @Option(name: .customLong("warm-up"), help: "Seconds of load before measuring.")
    var warmUp = 1.0

    @Option(
        name: .long,
        help: "A running server to use instead of starting one (loopback only), e.g. http://127.0.0.1:8080.")
    var url: String?

    @Option(name: .customLong("api-key"), help: "Bearer key for --url when the server requires one.")
    var apiKey: String?

    @Option(
        name: .customLong("event-streams"),
        help: "Event streams to open (each from its own loopback address) while the load runs, held open to its end.")
    var eventStreams = 0

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    /// Training workers of the server this command starts.
    static let workers = 2
    /// Enough meta-iterations that both jobs are still training when the load ends.
    static let jobSpec = #"{"name":"bench-http","dataset":{"name":"digits"},"meta":{"iterations":500}}"#
    static let jobStartTimeout: Duration = .seconds(60)
    /// Loopback source addresses 127.0.1.1 to 127.0.8.250.
    static let maximumEventStreams = 2000

    public func validate() throws {
        guard duration > 0, duration <= 60 else { throw ValidationError("--duration must be in (0, 60] seconds") }
        guard warmUp >= 0, warmUp <= 60 else { throw ValidationError("--warm-up must be in [0, 60] seconds") }
        guard (1...LoadGenerator.maximumConnections).contains(connections) else {
            throw ValidationError("--connections must be between 1 and \(LoadGenerator.maximumConnections)")
        }
        guard (0...Self.maximumEventStreams).contains(eventStreams) else {
            throw ValidationError("--event-streams must be between 0 and \(Self.maximumEventStreams)")
        }
        if let url {
            do { _ = try LoopbackEndpoint(url: url) } catch { throw ValidationError(error.description) }
        }
    }

    public func run() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("rewind-bench-http-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var server: BenchServerProcess?
        defer {
            if let server {
                let status = server.stop()
                if status != 0 { Console.error("rewind: the server exited with status \(status)") }
            }
        }
        let report: LoadReport
        let statusesAfter: [String]
        var streams: EventStreamFlood.Outcome?
        if eventStreams > 0 {
            // Before the server starts, so that it inherits the raised limit.
            EventStreamFlood.raiseDescriptorLimit(to: eventStreams + LoadGenerator.maximumConnections + 256)
        }
        do {
            let endpoint: LoopbackEndpoint
            var key = apiKey
            if let url {
                endpoint = try LoopbackEndpoint(url: url)
            } else {
                Console.error("starting rewind serve with \(Self.workers) workers...")
                key = "bench-" + (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
                server = try BenchServerProcess(
                    executable: Self.executableURL(), directory: directory, workers: Self.workers, apiKey: key!)
                endpoint = server!.endpoint
            }
            let headers = key.map { [(name: "Authorization", value: "Bearer \($0)")] } ?? []
            let client = LoopbackHTTPClient(endpoint: endpoint, headers: headers)
            try Self.waitUntilReady(client)
            let ids = try (0..<2).map { _ in try Self.submitJob(client) }
            defer { Self.cancel(ids, client) }
            try Self.waitUntilOneIsRunning(ids, client)
            var configuration = LoadGenerator.Configuration(endpoint: endpoint, paths: ids.map { "/v1/jobs/\($0)" })
            configuration.connections = connections
            configuration.headers = headers
            configuration.duration = .milliseconds(Int64((duration * 1000).rounded()))
            configuration.warmUp = .milliseconds(Int64((warmUp * 1000).rounded()))
            Console.error(
                "load: \(connections) connections, \(warmUp) s warm-up + \(duration) s against \(endpoint)...")
            let flood =
                eventStreams > 0
                ? EventStreamFlood(endpoint: endpoint, jobID: ids[0], headers: headers, count: eventStreams) : nil
            flood?.start(after: configuration.warmUp)
            report = try LoadGenerator(configuration).run()
            streams = flood?.stop()
            statusesAfter = ids.map { id in
                (try? client.json("GET", "/v1/jobs/\(id)", expecting: 200))?["status"]?.stringValue ?? "unknown"
            }
        } catch {
            Console.error("rewind: bench-http: \(error)")
            if let server { Console.error("server stderr (last lines):\n\(server.stderrTail)") }
            throw ExitCode(2)
        }
        if json {
            Console.output(Self.json(report, jobsAfter: statusesAfter, streams: streams).serializedString())
        } else {
            Console.output(Self.table(report, jobsAfter: statusesAfter, streams: streams))
        }
        if report.failed > 0 {
            Console.error("rewind: \(report.failed) requests failed; first: \(report.tally.firstFailure ?? "?")")
            throw ExitCode(1)
        }
    }

    /// This executable, absolute, so the child is the same build whatever the working directory.
    static func executableURL() -> URL {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: resolved)
        }
        let argument = CommandLine.arguments[0]
        if argument.contains("/") {
            return URL(
                fileURLWithPath: argument, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            )
            .standardizedFileURL
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(argument)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: argument)
    }

    private static func waitUntilReady(_ client: LoopbackHTTPClient) throws {
        try poll(until: .now + BenchServerProcess.startTimeout, what: "GET /readyz to answer 200") {
            (try? client.request("GET", "/readyz"))?.status == 200
        }
    }

    private static func submitJob(_ client: LoopbackHTTPClient) throws -> String {
        let job = try client.json("POST", "/v1/jobs", body: jobSpec, expecting: 202)
        guard let id = job["id"]?.stringValue, LoadGenerator.isSafeTarget("/" + id), !id.contains("/") else {
            throw LoopbackHTTPClient.UnexpectedResponse(description: "POST /v1/jobs answered no usable \"id\"")
        }
        return id
    }

    private static func waitUntilOneIsRunning(_ ids: [String], _ client: LoopbackHTTPClient) throws {
        try poll(until: .now + jobStartTimeout, what: "a job to start running") {
            var running = false
            for id in ids {
                let status = try client.json("GET", "/v1/jobs/\(id)", expecting: 200)["status"]?.stringValue
                if status == "failed" || status == "cancelled" || status == "succeeded" {
                    throw LoopbackHTTPClient.UnexpectedResponse(
                        description: "job \(id) ended (\(status!)) before the load")
                }
                running = running || status == "running"
            }
            return running
        }
    }

    /// Cancels the jobs so a `--url` server does not keep training them; failures only warn.
    private static func cancel(_ ids: [String], _ client: LoopbackHTTPClient) {
        for id in ids {
            let status = (try? client.request("POST", "/v1/jobs/\(id)/cancel"))?.status
            if status != 202 {
                Console.error("rewind: cancelling job \(id) answered \(status.map(String.init) ?? "nothing")")
            }
        }
    }

    /// Checks `condition` every 50 ms until it holds, throwing once `deadline` has passed.
    private static func poll(
        until deadline: ContinuousClock.Instant, what: String, _ condition: () throws -> Bool
    ) throws {
        while try !condition() {
            guard ContinuousClock.now < deadline else {
                throw LoopbackHTTPClient.UnexpectedResponse(description: "timed out waiting for \(what)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
