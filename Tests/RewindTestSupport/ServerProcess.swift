import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A failure to start or control a `rewind serve` child process.
public struct ServerProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The built `rewind` executable running `serve` as a child process, for tests that need a real
/// process boundary: `kill -9` in the middle of a job, SIGTERM hand-back, restart on the same file.
///
/// Output goes to files in the database's directory rather than pipes, so a chatty child can
/// never block on a full pipe and a failing test can point at the logs.
public final class ServerProcess {
    /// The port the child reported on its first stdout line.
    public let port: Int
    /// The child's stderr (JSON log lines), for failure messages.
    public let logPath: String
    private let process: Process

    /// Starts `rewind serve --port 0 --database DATABASE --workers 1` (plus `arguments`) and waits,
    /// up to `timeout`, for its `listening on http://127.0.0.1:PORT` line.
    ///
    /// The logs go beside an SQLite file, or into `logDirectory` (needed for a PostgreSQL URL).
    /// `command` may be `worker` (a worker-only node, whose port is its health port); `launcher`
    /// runs the binary through another program, e.g. `ip netns exec NAME` to start it in a
    /// network namespace (which must exec it, so that signals reach the server itself). With
    /// `prlimit` options (e.g. `["--as=3000000000"]`) the server runs under those resource limits.
    public init(
        database: String, logDirectory: String? = nil, arguments: [String] = [],
        environment: [String: String] = [:], timeout: Duration = .seconds(20), command: String = "serve",
        launcher: [String] = [], prlimit: [String] = []
    ) throws {
        let executable = try Self.executableURL()
        let stamp = "\(getpid())-\(UUID().uuidString.prefix(8))"
        let logBase = logDirectory.map { "\($0)/\(command)" } ?? database
        let stdoutPath = "\(logBase).\(stamp).stdout"
        logPath = "\(logBase).\(stamp).stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        // Beside an SQLite file, one node id per database directory: a restart on the same file is
        // the same node and recovers its earlier boot's jobs at once. Elsewhere (several processes
        // sharing one log directory) each process stays a node of its own unless the test says.
        let nodeID = "test-" + URL(fileURLWithPath: database).deletingLastPathComponent().lastPathComponent
        let nodeArguments = arguments.contains("--node-id") || logDirectory != nil ? [] : ["--node-id", nodeID]
        let serverArguments =
            [command, "--host", "127.0.0.1", "--port", "0", "--database", database, "--workers", "1"]
            + nodeArguments + arguments
        // prlimit sets the limits and then execs the server: the child's pid is the server's.
        let launcher = prlimit.isEmpty ? launcher : launcher + ["/usr/bin/prlimit"] + prlimit + ["--"]
        if launcher.isEmpty {
            process.executableURL = executable
            process.arguments = serverArguments
        } else {
            process.executableURL = URL(fileURLWithPath: launcher[0])
            process.arguments = Array(launcher.dropFirst()) + [executable.path] + serverArguments
        }
        // Only what the test passes: a developer's REWIND_* settings must not leak in.
        var childEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REWIND_") }
        childEnvironment.merge(environment) { _, new in new }
        process.environment = childEnvironment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()

        let deadline = ContinuousClock.now + timeout
        var found: Int?
        while found == nil {
            let text = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let newline = text.firstIndex(of: "\n") {
                let line = String(text[..<newline])
                let prefix = "listening on http://127.0.0.1:"
                guard line.hasPrefix(prefix), let parsed = Int(line.dropFirst(prefix.count)) else {
                    process.terminate()
                    throw ServerProcessError("unexpected first line from rewind serve: \(line)")
                }
                found = parsed
            } else if !process.isRunning {
                throw ServerProcessError(
                    "rewind serve exited (status \(process.terminationStatus)) before listening; log: "
                        + ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""))
            } else if ContinuousClock.now > deadline {
                Glibc.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw ServerProcessError("rewind serve did not report its port within \(timeout)")
            } else {
                usleep(10_000)
            }
        }
        port = found!
    }

    /// The process id of the child.
    public var pid: Int32 { process.processIdentifier }

    /// Sends `signal` (SIGKILL, SIGTERM, ...) to the child.
    public func kill(_ signal: Int32) {
        _ = Glibc.kill(process.processIdentifier, signal)
    }

    /// How the child ended.
    public enum Exit: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// Waits up to `timeout` for the child to end; nil if it is still running then.
    public func waitForExit(timeout: Duration) -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            usleep(10_000)
        }
        let status = process.terminationStatus
        return process.terminationReason == .exit ? .exited(status) : .signalled(status)
    }

    /// The child's log so far (its stderr).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills a child a failed test left running, so no test leaks a process.
    deinit {
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `rewind` beside the test bundle: SwiftPM puts both in the build products directory.
    public static func executableURL() throws -> URL {
        var candidates: [String] = []
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: bundle).deletingLastPathComponent().path)
        }
        let argument = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        candidates.append(argument.deletingLastPathComponent().path)
        for directory in candidates {
            let path = "\(directory)/rewind"
            if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        }
        throw ServerProcessError(
            "the rewind executable is missing from \(candidates.joined(separator: " or ")); run `swift build` first")
    }
}
