import Foundation
import JSON
import RewindTestSupport
import Testing
import Tuning

/// A newcomer's first try on their own data, through the real `rewind serve`: class-sorted labels,
/// features on wildly different scales, tiny sets, header rows and a broken first row. The
/// defaults must give a useful model, and what they cannot fix must be said as warnings.
@Suite("Own data, first try")
struct FirstTryTests {
    /// Wine-like data: 3 classes × 60 rows sorted by class, 13 features whose scales run from 0.1
    /// to 1000 (wine's proline is in the thousands, its hue near 1). Deterministic.
    static func wineLike(header: String? = nil) -> [UInt8] {
        var generator = SplitMix(seed: 17)
        var text = header.map { $0 + "\n" } ?? ""
        for row in 0..<180 {
            let label = row / 60
            let features = (0..<13).map { feature -> String in
                let scale = [0.1, 1, 10, 100, 1000][feature % 5]
                let centre = Double((label * 7 + feature * 3) % 5) - 2
                return String(format: "%.4f", scale * (10 + centre + 1.5 * generator.normal()))
            }
            text += features.joined(separator: ",") + ",\(label)\n"
        }
        return Array(text.utf8)
    }

    /// A small deterministic generator (SplitMix64 with Box–Muller).
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
        mutating func normal() -> Double { (-2 * log(unit())).squareRoot() * cos(2 * .pi * unit()) }
    }

    func upload(_ session: APISession, name: String, _ body: [UInt8]) throws -> HTTPTestResponse {
        try session.request("POST", "/v1/datasets?name=\(name)", headers: [("Content-Type", "text/csv")], body: body)
    }

    func codes(_ job: JSONValue) -> [String] {
        (job["warnings"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
    }

    static func server() throws -> (ServerProcess, TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "rewind-first-try")
        return (try ServerProcess(database: directory.file("rewind.sqlite")), directory)
    }

    @Test("an upload says what it found: no header, sorted labels, class counts and feature ranges")
    func uploadDetection() throws {
        let (server, directory) = try Self.server()
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)); _ = directory }
        let session = APISession(port: server.port)
        let answer = try upload(session, name: "wineish", Self.wineLike())
        #expect(answer.status == 201, "\(answer.text)")
        let detected = try #require(answer.json["detected"])
        #expect(detected["has_header"] == .bool(false))
        #expect(detected["labels_sorted"] == .bool(true))
        #expect(detected["labels"] == JSONValue([0.0, 1, 2]))
        #expect(detected["class_counts"] == JSONValue([60.0, 60, 60]))
        #expect(detected["feature_ranges"]?.arrayValue?.count == 13)
        #expect((detected["range_ratio"]?.doubleValue ?? 0) > 1000)
        // The stored data set tells the same (less the header, which only the upload saw).
        let id = try #require(answer.json["id"]?.stringValue)
        let stored = try session.get("/v1/datasets/\(id)").json["detected"]
        #expect(stored?["labels_sorted"] == .bool(true) && stored?["class_counts"] == detected["class_counts"])
    }

    @Test("a header row is detected and named; a broken first row is a 422 that stores nothing")
    func headerRows() throws {
        let (server, directory) = try Self.server()
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)); _ = directory }
        let session = APISession(port: server.port)
        let names = (1...13).map { "f\($0)" }.joined(separator: ",") + ",class"
        let headed = try upload(session, name: "headed", Self.wineLike(header: names))
        #expect(headed.status == 201, "\(headed.text)")
        #expect(headed.json["rows"]?.intValue == 180)
        #expect(headed.json["detected"]?["has_header"] == .bool(true))
        #expect(headed.json["detected"]?["header"]?[13]?.stringValue == "class")

        let broken = Array("1.5,2.3x,0\n0.5,1.5,1\n2.5,0.5,0\n".utf8)
        let refused = try upload(session, name: "broken", broken)
        #expect(refused.status == 422, "\(refused.text)")
        #expect(refused.json["detail"]?.stringValue?.contains("2.3x") == true, "\(refused.text)")
        #expect(refused.json["detail"]?.stringValue?.contains("first row") == true, "\(refused.text)")
        let listed = try session.get("/v1/datasets").json["datasets"]?.arrayValue ?? []
        #expect(!listed.contains { $0["name"]?.stringValue == "broken" })

        // One label only: the message no longer contradicts itself.
        let single = try upload(session, name: "single", Array("0.5,2\n1.5,2\n".utf8))
        #expect(single.status == 422)
        #expect(single.json["detail"]?.stringValue?.contains("every row has class label 2") == true, "\(single.text)")
    }

    @Test("on class-sorted, unscaled data the all-defaults job shuffles, standardizes and ends well below chance")
    func defaultsThatFit() throws {
        let (server, directory) = try Self.server()
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)); _ = directory }
        let session = APISession(port: server.port)
        #expect(try upload(session, name: "wineish", Self.wineLike()).status == 201)

        // Nothing but the data set (and a short run): the defaults decide the rest.
        let id = try session.submit(#"{"dataset": {"name": "wineish"}, "meta": {"iterations": 3}}"#)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(300))
        let spec = try #require(job["spec"])
        #expect(spec["split"]?["shuffle"] == .bool(true))
        #expect(spec["split"]?["train"]?.intValue == 90 && spec["split"]?["validation"]?.intValue == 54)
        #expect(spec["split"]?["test"]?.intValue == 36)
        #expect(spec["preprocess"]?["standardize"] == .bool(true))
        #expect(
            spec["preprocess"]?["mean"]?.arrayValue?.count == 13 && spec["preprocess"]?["std"]?.arrayValue?.count == 13)
        #expect(spec["training"]?["batch_size"]?.intValue == 90)  // min(100, training rows)
        // The data set by the name it was uploaded under, its id beside it, here and in the list.
        #expect(job["dataset"]?["name"]?.stringValue == "wineish" && job["dataset"]?["id"]?.stringValue != nil)
        let listed = try session.get("/v1/jobs").json["jobs"]?.arrayValue?.first { $0["id"]?.stringValue == id }
        #expect(listed?["dataset"]?["name"]?.stringValue == "wineish")
        #expect(try session.get("/jobs/\(id)").text.contains("<span id=\"job-dataset\">wineish</span>"))
        let testError = try #require(job["best"]?["test_error"]?.doubleValue)
        #expect(testError < 0.2, "chance is 67 %; the defaults must give a useful model: \(job.serializedString())")
        #expect(!codes(job).contains("sorted-labels-not-shuffled") && !codes(job).contains("unscaled-features"))
        #expect(!codes(job).contains("error-near-100-percent") && !codes(job).contains("no-better-than-majority"))
    }

    /// The wine-like data unshuffled and unscaled: every warning known at submission fires.
    static let unshuffledUnscaled =
        #"{"dataset": {"name": "wineish"}, "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "shuffle": false}, "#
        + #""preprocess": {"standardize": false}, "meta": {"iterations": 2}}"#

    @Test("the same data unshuffled and unscaled warns at submission and ends with a useless-model warning")
    func warningsThatSpeak() throws {
        let (server, directory) = try Self.server()
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)); _ = directory }
        let session = APISession(port: server.port)
        #expect(try upload(session, name: "wineish", Self.wineLike()).status == 201)
        let submitted = try session.post("/v1/jobs", json: Self.unshuffledUnscaled)
        #expect(submitted.status == 202, "\(submitted.text)")
        let atSubmission = codes(submitted.json)
        for code in [
            "few-training-classes", "sorted-labels-not-shuffled", "unscaled-features", "small-validation-split",
        ] {
            #expect(atSubmission.contains(code), "\(code) missing: \(submitted.text)")
        }
        let id = try #require(submitted.json["id"]?.stringValue)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(300))
        let finished = codes(job)
        #expect(
            finished.contains("error-near-100-percent") || finished.contains("no-better-than-majority"),
            "\(job.serializedString())")
        #expect(finished.contains("sorted-labels-not-shuffled"))
        // The job page shows them too.
        let page = try session.get("/jobs/\(id)")
        #expect(page.text.contains("id=\"job-warnings\"") && page.text.contains("sorted-labels-not-shuffled"))
    }

    @Test("a queued job shows the warnings its 202 carried, kept with the job at submission")
    func queuedJobKeepsItsSubmissionWarnings() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-first-try")
        // No workers: the job stays queued, with no item to carry warnings of its own.
        let server = try ServerProcess(database: directory.file("rewind.sqlite"), arguments: ["--workers", "0"])
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        let session = APISession(port: server.port)
        #expect(try upload(session, name: "wineish", Self.wineLike()).status == 201)
        let submitted = try session.post("/v1/jobs", json: Self.unshuffledUnscaled)
        #expect(submitted.status == 202, "\(submitted.text)")
        let warnings = try #require(submitted.json["warnings"])
        #expect(codes(submitted.json).contains("sorted-labels-not-shuffled"), "\(submitted.text)")
        let id = try #require(submitted.json["id"]?.stringValue)
        let queued = try session.get("/v1/jobs/\(id)").json
        #expect(queued["status"]?.stringValue == "queued")
        #expect(queued["warnings"] == warnings, "\(queued.serializedString())")
        #expect(queued["latest"] == .null)
        // The listing's summaries carry them too; a job submitted without any has an empty list.
        let listed = try session.get("/v1/jobs").json["jobs"]?.arrayValue ?? []
        #expect(listed.first { $0["id"]?.stringValue == id }?["warnings"] == warnings)
        let plain = try session.submit(#"{"dataset": {"name": "digits"}, "meta": {"iterations": 1}}"#)
        #expect(try session.get("/v1/jobs/\(plain)").json["warnings"] == .array([]))
    }

    @Test("every example spec prepares as rewind run reads it, local files included")
    func examplesRunAsDocumented() throws {
        let specs = ExampleSpecs.names
        #expect(specs.count >= 7)
        for name in specs {
            if case .failure(let problem) = ExampleSpecs.prepare(name) { Issue.record("\(problem)") }
        }
    }

    @Test("a tiny data set runs on its defaults and warns that its validation split is too small to tune on")
    func tinySets() throws {
        let (server, directory) = try Self.server()
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)); _ = directory }
        let session = APISession(port: server.port)
        let rows =
            (0..<24).map { "\(Double($0 % 6) / 6),\(Double($0 * 5 % 7)),\($0 % 2)" }.joined(separator: "\n") + "\n"
        #expect(try upload(session, name: "tiny", Array(rows.utf8)).status == 201)
        let submitted = try session.post(
            "/v1/jobs", json: #"{"dataset": {"name": "tiny"}, "model": {"hidden": [4]}, "meta": {"iterations": 1}}"#)
        #expect(submitted.status == 202, "\(submitted.text)")
        #expect(codes(submitted.json).contains("small-validation-split"), "\(submitted.text)")
        let id = try #require(submitted.json["id"]?.stringValue)
        let job = try session.waitForStatus(id, "succeeded", timeout: .seconds(120))
        #expect(job["spec"]?["training"]?["batch_size"]?.intValue == 12)  // min(100, 12 training rows)
    }
}
