import ArgumentParser
import Foundation
import HTTPClient
import JSON

/// `rewind bench-upload`: the peak memory a CSV upload costs the server, as a multiple of its body,
/// for typical data and for the worst case of one-digit values (8 stored bytes per 2 sent), on
/// SQLite and, with `REWIND_BENCH_POSTGRES`, on PostgreSQL. Each upload goes to a fresh server
/// process whose peak RSS (VmHWM) is reset just before; growth = (peak − RSS before) / body.
public struct UploadBenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench-upload",
        abstract: "Measure the server's peak memory per uploaded CSV byte (typical and one-digit data, both engines).")

    @Option(help: "Body size of each upload, in MB (the server's upload limit is raised to fit).")
    var megabytes: Int = 32

    @Option(help: "An empty PostgreSQL database to measure too (postgres://...); the uploads are deleted afterwards.")
    var postgres: String = ProcessInfo.processInfo.environment["REWIND_BENCH_POSTGRES"] ?? ""

    @Option(help: "Measure only the data kinds whose label contains this text (e.g. deflated).")
    var only: String = ""

    public func validate() throws {
        guard (1...1024).contains(megabytes) else {
            throw ValidationError("--megabytes must be between 1 and 1024")
        }
    }

    public func run() throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory() + "rewind-bench-upload-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var engines: [(String, String?)] = [("SQLite", nil)]
        if !postgres.isEmpty { engines.append(("PostgreSQL", postgres)) }
        let kinds: [(String, () -> [UInt8])] = [
            ("typical (4 decimals)", { Self.typicalCSV(bytes: megabytes * 1_000_000) }),
            // At most 95 MB: more one-digit values would pass the 50 million values a data set may hold.
            ("one-digit values (worst case)", { Self.oneDigitCSV(bytes: min(megabytes, 95) * 1_000_000) }),
            (".npz stored, 28×28 float32 images", { NPZBenchArchive.images(bytes: megabytes * 1_000_000) }),
            (
                ".npz deflated, 28×28 float32 images",
                { NPZBenchArchive.images(bytes: megabytes * 1_000_000, compressed: true) }
            ),
        ]
        let bodies = kinds.filter { only.isEmpty || $0.0.contains(only) }.map { ($0.0, $0.1()) }
        Console.output("upload benchmark: one \(megabytes) MB upload per fresh server; peak RSS growth / body size")
        Console.output("| engine | data | body MB | peak RSS growth MB | growth / body |")
        Console.output("|---|---|---:|---:|---:|")
        for (engine, database) in engines {
            for (index, (kind, body)) in bodies.enumerated() {
                let round = directory.appendingPathComponent("\(engine)-\(index)")
                try FileManager.default.createDirectory(at: round, withIntermediateDirectories: true)
                let growth = try Self.measure(
                    body: body, directory: round, database: database, limitMB: megabytes + 1)
                Console.output(
                    String(
                        format: "| %@ | %@ | %.1f | %.1f | %.2f× |", engine, kind, Double(body.count) / 1e6,
                        Double(growth) / 1e6, Double(growth) / Double(body.count)))
            }
        }
    }

    /// Peak RSS growth of a fresh server while it takes `body`.
    static func measure(body: [UInt8], directory: URL, database: String?, limitMB: Int) throws -> Int {
        let key = "bench-\(UInt64.random(in: 0...UInt64.max))"
        let server: BenchServerProcess
        do {
            server = try BenchServerProcess(
                executable: HTTPBenchCommand.executableURL(), directory: directory, workers: 1, apiKey: key,
                database: database, arguments: ["--max-upload-mb", "\(max(64, limitMB))"])
        } catch {
            throw ValidationError("\(error)")
        }
        defer { _ = server.stop() }
        // Reset the peak so that only the upload can raise it.
        try "5".write(toFile: "/proc/\(server.pid)/clear_refs", atomically: false, encoding: .utf8)
        let before = status(server.pid, "VmRSS")
        let name = "bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var head =
            "POST /v1/datasets?name=\(name) HTTP/1.1\r\nHost: \(server.endpoint.authority)\r\nConnection: close\r\n"
        let archive = body.starts(with: [0x50, 0x4B, 0x03, 0x04])
        head += "Authorization: Bearer \(key)\r\nContent-Type: \(archive ? "application/x-npz" : "text/csv")\r\n"
        head += "Content-Length: \(body.count)\r\n\r\n"
        let connection = try HTTPClientConnection(
            host: server.endpoint.host, port: server.endpoint.port, timeout: .seconds(300))
        try connection.send(Array(head.utf8) + body)
        let response = try connection.readFramedResponse(deadline: .now + .seconds(300))
        connection.close()
        let peak = status(server.pid, "VmHWM")
        guard response.status == 201 else {
            throw ValidationError(
                "the upload answered \(response.status): \(String(decoding: response.body.prefix(500), as: UTF8.self))")
        }
        // A shared database keeps nothing of the benchmark.
        if database != nil, let id = (try? JSONValue.parse(response.body))?["id"]?.stringValue {
            _ = try? LoopbackHTTPClient(endpoint: server.endpoint, headers: [("Authorization", "Bearer \(key)")])
                .request("DELETE", "/v1/datasets/\(id)")
        }
        return peak - before
    }

    /// A `/proc/PID/status` field in bytes (`VmRSS`, `VmHWM`).
    static func status(_ pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        return 0
    }

    /// About `bytes` of rows of 20 features with 4 decimals and a label in 0...2 (more features
    /// past 100 MB, so that the rows stay under the row limit).
    static func typicalCSV(bytes: Int) -> [UInt8] {
        let features = max(20, bytes / 800_000 / 7 + 1)
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 256)
        var row = 0
        while out.count < bytes {
            for feature in 0..<features {
                let value = (row * 31 + feature * 17) % 10_000
                out += Array("0.\(String(repeating: "0", count: 4 - String(value).count))\(value),".utf8)
            }
            out += Array("\(row % 3)\n".utf8)
            row += 1
        }
        return out
    }

    /// About `bytes` of rows of 40 one-digit features and a label in 0...2 (more features past
    /// 60 MB, so that the rows stay under the row limit).
    static func oneDigitCSV(bytes: Int) -> [UInt8] {
        let features = max(40, bytes / 800_000 / 2 + 1)
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 32)
        var row = 0
        while out.count < bytes {
            for feature in 0..<features {
                out.append(UInt8(ascii: "0") + UInt8((row * 7 + feature * 3) % 10))
                out.append(UInt8(ascii: ","))
            }
            out.append(UInt8(ascii: "0") + UInt8(row % 3))
            out.append(UInt8(ascii: "\n"))
            row += 1
        }
        return out
    }
}
