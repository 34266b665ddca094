import Foundation

/// `rewind serve` started as a separate process for the HTTP benchmark, so the load generator's
/// threads and the server's never share a scheduler queue or a heap, as with a real client.
///
/// The child's stdout and stderr go to files in `directory`, not pipes: a pipe nobody drains
/// would block a chatty server mid-benchmark.
final class BenchServerProcess {
    /// The server could not be started; `description` carries the child's stderr.
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    static let startTimeout: Duration = .seconds(20)
    static let stopTimeout: Duration = .seconds(30)

    let endpoint: LoopbackEndpoint
    private let process: Process
    private let stderrPath: String

    /// Launches `executable serve --host 127.0.0.1 --port 0 --database DIR/bench.sqlite --workers N`
    /// with `apiKey` as its only API key, and waits for its first stdout line,
    /// `listening on http://HOST:PORT`.
    ///
    /// `database` replaces the SQLite file (a PostgreSQL URL, say); `arguments` are added.
    init(
        executable: URL, directory: URL, workers: Int, apiKey: String, database: String? = nil, arguments: [String] = []
    ) throws(StartFailure) {
        let stdoutPath = directory.appendingPathComponent("serve.stdout").path
        stderrPath = directory.appendingPathComponent("serve.stderr").path
        process = Process()
        process.executableURL = executable
        process.arguments =
            [
                "serve", "--host", "127.0.0.1", "--port", "0",
                "--database", database ?? directory.appendingPathComponent("bench.sqlite").path,
                "--workers", String(workers),
            ] + arguments
        // Authentication on, as in production; a key of our own, so the caller's environment
        // (REWIND_API_KEYS) cannot make every request a 401.
        var environment = ProcessInfo.processInfo.environment
        environment["REWIND_API_KEYS"] = apiKey
        process.environment = environment
        do {
            for path in [stdoutPath, stderrPath] {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
                }
            }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            process.standardInput = FileHandle.nullDevice
            try process.run()
        } catch {
            throw StartFailure(description: "cannot start \(executable.path) serve: \(error.localizedDescription)")
        }
        let deadline = ContinuousClock.now + Self.startTimeout
        var line: String?
        while line == nil {
            line = Self.firstLine(ofFile: stdoutPath)
            if line != nil { break }
            if !process.isRunning {
                process.waitUntilExit()
                throw StartFailure(
                    description: "rewind serve exited with status \(process.terminationStatus) "
                        + "before listening:\n" + Self.tail(ofFile: stderrPath))
            }
            if ContinuousClock.now >= deadline {
                Self.stop(process)
                throw StartFailure(
                    description: "rewind serve printed no address within \(Self.startTimeout):\n"
                        + Self.tail(ofFile: stderrPath))
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        do throws(LoopbackEndpoint.Refusal) {
            endpoint = try Self.endpoint(fromListeningLine: line!)
        } catch {
            Self.stop(process)
            throw StartFailure(description: "rewind serve said \(line!.debugDescription): \(error)")
        }
    }

    /// The loopback endpoint in `listening on http://HOST:PORT`; a wildcard bind means loopback.
    static func endpoint(fromListeningLine line: String) throws(LoopbackEndpoint.Refusal) -> LoopbackEndpoint {
        guard let start = line.range(of: "http://") else {
            throw LoopbackEndpoint.Refusal(description: "no http:// address in it")
        }
        var url = String(line[start.lowerBound...].prefix { !$0.isWhitespace })
        for wildcard in ["//0.0.0.0:", "//[::]:"] {
            url = url.replacingOccurrences(of: wildcard, with: "//127.0.0.1:")
        }
        return try LoopbackEndpoint(url: url)
    }

    /// Sends SIGTERM, waits up to `stopTimeout` for a graceful exit, then kills. Returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        Self.stop(process)
    }

    /// The server's process id (for its memory figures in /proc).
    var pid: Int32 { process.processIdentifier }

    /// The child's stderr so far, last lines only, for error messages.
    var stderrTail: String { Self.tail(ofFile: stderrPath) }

    @discardableResult
    private static func stop(_ process: Process) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + stopTimeout
            while process.isRunning && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            if process.isRunning {
                Console.error("rewind: the server did not exit within \(stopTimeout) of SIGTERM; killing it")
                kill(process.processIdentifier, SIGKILL)
            }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private static func firstLine(ofFile path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
            let newline = data.firstIndex(of: UInt8(ascii: "\n"))
        else { return nil }
        return String(decoding: data[data.startIndex..<newline], as: UTF8.self)
    }

    private static func tail(ofFile path: String, lines: Int = 30) -> String {
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
        return kept.joined(separator: "\n")
    }
}
