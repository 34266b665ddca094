import API
import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing
import Tuning

/// Uploads are parsed while they arrive and written to storage a chunk at a time, on both
/// engines: the store is read from outside the server (the SQLite file with `sqlite3`, the
/// PostgreSQL database with `psql`) while the body is only half sent.
@Suite("Uploads stream into storage", .serialized)
struct StreamingUploadTests {
    static let configuration = APIConfiguration(maxQueuedJobs: 100, jsonBodyLimit: 64 << 10, datasetBodyLimit: 64 << 20)

    /// About `bytes` of rows of 20 features with 4 decimals and a label in 0...2; row `bad` (if
    /// any) has `x` as its fourth value.
    static func csv(bytes: Int, bad: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 256)
        var row = 0
        while out.count < bytes {
            for feature in 0..<20 {
                let value = (row * 31 + feature * 17) % 10_000
                let text =
                    row == bad && feature == 3
                    ? "x" : "0.\(String(repeating: "0", count: 4 - String(value).count))\(value)"
                out += Array((text + ",").utf8)
            }
            out += Array("\(row % 3)\n".utf8)
            row += 1
        }
        return out
    }

    /// Rows of the data set's chunks stored so far, read by the engine's own command-line client.
    static func storedChunks(_ service: TestService) throws -> Int {
        let query = "SELECT count(*) FROM dataset_chunks"
        let run: CommandLineRun
        if let database = service.databaseName, let cluster = PostgresCluster.shared {
            run = try CommandLineRun.run("psql", [cluster.url(database: database), "-tAc", query])
        } else {
            run = try CommandLineRun.run("sqlite3", [service.directory.file("rewind.sqlite"), query])
        }
        guard run.status == 0, let count = Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CommandLineRunFailure(description: "\(run.stdout) \(run.stderr)")
        }
        return count
    }

    struct CommandLineRunFailure: Error, CustomStringConvertible { var description: String }

    static func head(_ name: String, length: Int) -> String {
        "POST /v1/datasets?name=\(name) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
            + "Content-Length: \(length)\r\n\r\n"
    }

    /// While the first half of an 8 MB upload is sent and the second not, its first chunks are
    /// already in the store; the whole is then a data set of every row.
    static func chunksAreStoredWhileTheBodyArrives(_ service: TestService) throws {
        let body = csv(bytes: 8 << 20)
        let client = try HTTPTestClient(port: service.port, timeout: .seconds(60))
        defer { client.close() }
        try client.send(head("halfway", length: body.count))
        try client.send(Array(body.prefix(body.count / 2)))
        var seen = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while seen == 0, ContinuousClock.now < deadline {
            seen = try storedChunks(service)
            if seen == 0 { usleep(20_000) }
        }
        #expect(seen > 0, "no chunk was stored while half the body was sent")
        try client.send(Array(body.dropFirst(body.count / 2)))
        let answer = try client.readResponse()
        #expect(answer.status == 201, "\(answer.text)")
        let rows = body.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        #expect((try? JSONValue.parse(answer.body))?["rows"]?.intValue == rows)
        #expect(try storedChunks(service) > seen)
    }

    /// A bad value half-way through is answered 422 naming its line and column as soon as it is
    /// read, before the client has sent the rest, and leaves nothing stored.
    static func aBadRowHalfWayIsRefusedAndNothingIsStored(_ service: TestService) throws {
        let badRow = 40_000
        let body = csv(bytes: 8 << 20, bad: badRow)
        let client = try HTTPTestClient(port: service.port, timeout: .seconds(60))
        defer { client.close() }
        try client.send(head("bad", length: body.count))
        // Up to a little past the bad row: the answer comes without the rest of the body.
        let lineEnds = body.indices.lazy.filter { body[$0] == 0x0A }
        let cut = lineEnds.dropFirst(badRow + 10).first!
        try client.send(Array(body[...cut]))
        let answer = try client.readResponse()
        #expect(answer.status == 422, "\(answer.text)")
        let problem = try JSONValue.parse(answer.body)
        #expect(problem["line"]?.intValue == badRow + 1 && problem["column"]?.intValue == 4, "\(answer.text)")
        #expect(try storedChunks(service) == 0)
        let listed = try APISession(service).get("/v1/datasets").json["datasets"]?.arrayValue?.count
        #expect(listed == BuiltinDatasets.names.count)
    }

    @Test func onSQLiteChunksAreStoredWhileTheBodyArrives() throws {
        let service = try TestService(api: Self.configuration, startsWorkers: false)
        defer { service.stop() }
        try Self.chunksAreStoredWhileTheBodyArrives(service)
    }

    @Test func onSQLiteABadRowHalfWayIsRefusedAndNothingIsStored() throws {
        let service = try TestService(api: Self.configuration, startsWorkers: false)
        defer { service.stop() }
        try Self.aBadRowHalfWayIsRefusedAndNothingIsStored(service)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func onPostgreSQLChunksAreStoredWhileTheBodyArrives() throws {
        let service = try TestService(api: Self.configuration, startsWorkers: false, engine: .postgresql)
        defer { service.stop() }
        try Self.chunksAreStoredWhileTheBodyArrives(service)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func onPostgreSQLABadRowHalfWayIsRefusedAndNothingIsStored() throws {
        let service = try TestService(api: Self.configuration, startsWorkers: false, engine: .postgresql)
        defer { service.stop() }
        try Self.aBadRowHalfWayIsRefusedAndNothingIsStored(service)
    }

    /// A form's file is read as it arrives too, with boundaries cut across the pieces it comes in;
    /// an `.npz` whose `x` comes before `y` (as `np.savez` writes them) is read the same.
    @Test func aFormAndAnArchiveSentInSmallPiecesAreReadWhole() throws {
        let service = try TestService(api: Self.configuration, startsWorkers: false)
        defer { service.stop() }
        let csv = Self.csv(bytes: 300_000)
        let form = DatasetUploadTests.form([("name", nil, Array("pieces".utf8)), ("file", "p.csv", csv)])
        let archive = try NPZUploadTests.archive("images.npz")
        for (target, type, body) in [
            ("/v1/datasets", "multipart/form-data; boundary=XyZ123", form),
            ("/v1/datasets?name=tiles", "application/x-npz", archive),
        ] {
            let client = try HTTPTestClient(port: service.port, timeout: .seconds(60))
            defer { client.close() }
            try client.send(
                "POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n\r\n"
            )
            var offset = 0
            var size = 1
            while offset < body.count {
                let end = min(body.count, offset + size)
                try client.send(Array(body[offset..<end]))
                offset = end
                size = size * 3 % 9_973 + 1
            }
            let answer = try client.readResponse()
            #expect(answer.status == 201, "\(target): \(answer.text)")
        }
        let names = try APISession(service).get("/v1/datasets").json["datasets"]?.arrayValue?.compactMap {
            $0["name"]?.stringValue
        }
        #expect(names?.contains("pieces") == true && names?.contains("tiles") == true)
    }
}
