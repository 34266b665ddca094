import Digest
import Foundation
import JSON
import RewindTestSupport
import Testing

/// `GET /v1/datasets/{id}/data` and `rewind export --spec --url` for uploaded data sets (issue 17):
/// the exact replay check works for a job on an upload, named by its name, against the server.
@Suite("Uploaded data sets download and replay")
struct DatasetDownloadTests {
    /// 90 rows, 3 features with full-precision values, 3 classes.
    static let csv: [UInt8] = {
        var text = "a,b,c,label\n"
        for row in 0..<90 {
            let label = row % 3
            let a = sin(Double(row) * 1.7) + Double(label)
            let b = cos(Double(row) * 0.31) / 3 - Double(label) * 0.7
            let c = Double(row).squareRoot() / 10
            text += "\(a),\(b),\(c),\(label)\n"
        }
        return Array(text.utf8)
    }()

    static let spec = #"""
        {"dataset": {"name": "curves"}, "split": {"train": 60, "validation": 30},
         "model": {"hidden": [8], "activation": "tanh"},
         "training": {"iterations": 30, "batch_size": 20, "seed": 3, "batches": "random"},
         "meta": {"iterations": 2, "step_size": 0.05}}
        """#

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func theNumPyReplayOfAJobOnAnUploadByNameReachesRewindsValidationLoss() throws {
        let service = try TestService()
        defer { service.stop() }
        for (name, key) in [("owner", "secret-owner"), ("other", "secret-other")] {
            #expect(
                try service.store.createAPIKey(
                    name: name, keySHA256: SHA256.hex(of: Array(key.utf8)), role: .user, nowMs: 1))
        }
        let owner = APISession(service, apiKey: "secret-owner")
        let upload = try owner.request(
            "POST", "/v1/datasets?name=curves", headers: [("Content-Type", "text/csv")], body: Self.csv)
        try #require(upload.status == 201, "\(upload.text)")
        let datasetID = try #require(upload.json["id"]?.stringValue)

        // The rows come back as CSV that uploads to the very same stored numbers.
        let data = try owner.get("/v1/datasets/\(datasetID)/data")
        #expect(data.status == 200)
        #expect(data.header("Content-Type")?.hasPrefix("text/csv") == true)
        #expect(data.text.split(separator: "\n").count == 90)
        let again = try owner.request(
            "POST", "/v1/datasets?name=curves-again", headers: [("Content-Type", "text/csv")], body: data.body)
        let againID = try #require(again.json["id"]?.stringValue, "\(again.text)")
        #expect(try owner.get("/v1/datasets/\(againID)/data").body == data.body)
        let first = try #require(data.text.split(separator: "\n").first?.split(separator: ","))
        let original = try #require(String(decoding: Self.csv, as: UTF8.self).split(separator: "\n").dropFirst().first)
        #expect(first.map { Double($0)! } == original.split(separator: ",").map { Double($0)! })

        // Another tenant's id answers like a missing one.
        let other = APISession(service, apiKey: "secret-other")
        let foreign = try other.get("/v1/datasets/\(datasetID)/data")
        foreign.expectProblem(404)
        let missing = try other.get("/v1/datasets/\(String(datasetID.reversed()))/data")
        missing.expectProblem(404)
        #expect(
            foreign.json["detail"]?.stringValue?.replacingOccurrences(of: datasetID, with: "ID")
                == missing.json["detail"]?.stringValue?.replacingOccurrences(
                    of: String(datasetID.reversed()), with: "ID"))
        // A built-in downloads too.
        #expect(try owner.get("/v1/datasets/digits/data").text.split(separator: "\n").count == 1797)

        let scratch = try TemporaryDirectory(prefix: "rewind-upload-replay")
        let specPath = scratch.file("spec.json")
        try Data(Self.spec.utf8).write(to: URL(fileURLWithPath: specPath))
        let id = try owner.submit(Self.spec)
        try owner.waitForStatus(id, "succeeded", timeout: .seconds(60))
        let schedulePath = scratch.file("schedule.json")
        let url = "127.0.0.1:\(service.port)"
        let exported = try CommandLineRun.rewind(
            ["export-schedule", "--url", url, id, "--item", "1", "--output", schedulePath],
            environment: ["REWIND_API_KEY": "secret-owner"])
        try #require(exported.status == 0, "export-schedule: \(exported.stderr)")

        // Without a service the export says what to do; with it, it reads the upload's rows.
        let refused = try CommandLineRun.rewind(["export", "--spec", specPath])
        #expect(refused.status == 2)
        #expect(
            refused.stderr.contains("/dataset/name") && refused.stderr.contains("--url")
                && refused.stderr.contains("\"path\""), "\(refused.stderr)")
        let denied = try CommandLineRun.rewind(["export", "--spec", specPath, "--url", url])
        #expect(denied.status == 2 && denied.stderr.contains("401") && denied.stderr.contains("--api-key"))
        let replayPath = scratch.file("replay.json")
        let replay = try CommandLineRun.rewind(
            ["export", "--spec", specPath, "--item", "1", "--output", replayPath, "--url", url],
            environment: ["REWIND_API_KEY": "secret-owner"])
        try #require(replay.status == 0, "export --spec: \(replay.stderr)")

        let numpy = try CommandLineRun.run(
            "python3", ["\(Self.repository)/examples/replay_numpy.py", replayPath, schedulePath, "--tolerance", "1e-6"])
        #expect(numpy.status == 0, "the NumPy replay failed: \(numpy.stdout) \(numpy.stderr)")
        let report = try JSONValue.parse(numpy.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let difference = try #require(report["difference"]?.doubleValue)
        #expect(difference <= 1e-6)
        let history = try owner.history(id)
        #expect(report["rewind_validation_loss"]?.doubleValue == history[1]["validation_loss"]?.doubleValue)

        // By id, the same document.
        let byID = scratch.file("by-id.json")
        try Data(Self.spec.replacingOccurrences(of: #""name": "curves""#, with: #""id": "\#(datasetID)""#).utf8)
            .write(to: URL(fileURLWithPath: byID))
        let replayByID = try CommandLineRun.rewind(
            ["export", "--spec", byID, "--item", "1", "--url", url], environment: ["REWIND_API_KEY": "secret-owner"])
        try #require(replayByID.status == 0, "export --spec by id: \(replayByID.stderr)")
        let byName = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: replayPath))))
        let byIDDocument = try JSONValue.parse(replayByID.stdout)
        #expect(byName["train"] == byIDDocument["train"] && byName["validation"] == byIDDocument["validation"])
        #expect(byName["noise"] == byIDDocument["noise"] && byName["batches"] == byIDDocument["batches"])
    }

    /// The built-in mnist (70,000 rows, about 284 MB of CSV) is written a block of rows at a time
    /// while the client reads slowly: every row arrives, once, with its 784 values and label.
    @Test func mnistDownloadsWholeToAClientThatReadsSlowly() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let client = try HTTPTestClient(port: service.port, timeout: .seconds(120))
        defer { client.close() }
        try client.send("GET /v1/datasets/mnist/data HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let head = try client.readHead()
        #expect(head.status == 200 && head.header("Transfer-Encoding") == "chunked")
        var lines = 0
        var chunks = 0
        var firstLine: [UInt8] = []
        while let chunk = try client.readChunk() {
            if firstLine.isEmpty, let end = chunk.firstIndex(of: 0x0A) { firstLine = Array(chunk[..<end]) }
            lines += chunk.withUnsafeBufferPointer { buffer in
                var count = 0
                var at = buffer.baseAddress!
                let end = buffer.baseAddress! + buffer.count
                while at < end, let hit = memchr(at, 0x0A, end - at) {
                    count += 1
                    at = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) + 1
                }
                return count
            }
            chunks += 1
            if chunks % 8 == 0 { usleep(5_000) }  // a slow reader: the server must wait, not buffer
        }
        #expect(lines == 70_000)
        #expect(firstLine.split(separator: UInt8(ascii: ",")).count == 785)
        #expect(chunks > 100, "the rows came in \(chunks) pieces")
        #expect(try client.request("GET", "/healthz").status == 200)
    }
}
