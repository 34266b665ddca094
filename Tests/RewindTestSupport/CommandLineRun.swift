import Foundation

/// One finished run of a program: how it exited and what it wrote.
public struct CommandLineRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// Runs the built `rewind` with `arguments` and waits for it (up to `timeout`).
    public static func rewind(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> CommandLineRun {
        try run(ServerProcess.executableURL().path, arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Runs `executable` (a path, or a name looked up on PATH) with output captured in files, so a
    /// chatty program never blocks on a full pipe. The caller's REWIND_* settings do not leak in.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        directory: String? = nil, timeout: Duration = .seconds(120)
    ) throws -> CommandLineRun {
        let scratch = try TemporaryDirectory(prefix: "rewind-command")
        let outPath = scratch.file("stdout"), errPath = scratch.file("stderr"), inPath = scratch.file("stdin")
        for path in [outPath, errPath] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        _ = FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        var childEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REWIND_") }
        childEnvironment.merge(environment) { _, new in new }
        process.environment = childEnvironment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                process.waitUntilExit()
                throw ServerProcessError("\(executable) \(arguments.joined(separator: " ")) ran longer than \(timeout)")
            }
            usleep(10_000)
        }
        return CommandLineRun(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}
