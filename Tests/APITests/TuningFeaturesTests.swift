import API
import Foundation
import JSON
import RewindTestSupport
import Testing
import Tuning

/// Issue 9's features through the real service: test numbers in the job, early stopping, and a
/// local CSV in `rewind run` giving the history the service gives for the same file uploaded.
@Suite("Test split, seeds, guard and early stopping over HTTP")
struct TuningFeaturesTests {
    /// 90 rows of three noisy features, label = the row's cluster (0, 1 or 2), in class order as
    /// many users' files are.
    static let csv: String = {
        var text = "a,b,c,label\n"
        var generator = SeededGenerator(seed: 5)
        for label in 0..<3 {
            for _ in 0..<30 {
                let features = (0..<3).map { j in
                    Double(j == label ? 4 : 0) + generator.uniform(-1, 1)
                }
                text += features.map { "\($0)" }.joined(separator: ",") + ",\(label)\n"
            }
        }
        return text
    }()

    static func spec(dataset: String, patience: String = "null") -> String {
        """
        { "dataset": \(dataset),
          "split": { "train": 0.5, "validation": 0.25, "test": 0.25, "shuffle": true, "seed": 4 },
          "preprocess": { "standardize": true },
          "model": { "hidden": [4] },
          "training": { "iterations": 10, "batch_size": 15, "seed": 2 },
          "meta": { "iterations": 4, "seeds": 2, "patience": \(patience) } }
        """
    }

    /// An item without its wall-clock seconds, which no two runs share.
    static func withoutSeconds(_ item: JSONValue) -> String {
        guard case .object(var object) = item else { return item.serializedString() }
        object["seconds"] = nil
        // Metadata of the node that computed the item, not a result (the local run has none).
        object["numeric_fingerprint"] = nil
        return JSONValue.object(object).serializedString()
    }

    @Test func rewindRunOnALocalCSVGivesTheServicesHistoryForTheUploadedFile() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let uploaded = try session.request(
            "POST", "/v1/datasets?name=clusters", headers: [("Content-Type", "text/csv")], body: Array(Self.csv.utf8))
        let id = try #require(uploaded.json["id"]?.stringValue, "\(uploaded.text)")
        let job = try session.submit(Self.spec(dataset: #"{"id": "\#(id)"}"#))
        let done = try session.waitForJob(job, "a terminal status") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        #expect(done["stopped_early"]?.boolValue == false)
        #expect(done["name"]?.stringValue == "clusters schedules")
        // The job records the resolved split and the standardisation statistics.
        #expect(done["spec"]?["split"]?["train"]?.intValue == 45)
        #expect(done["spec"]?["preprocess"]?["mean"]?.arrayValue?.count == 3)
        #expect(done["latest"]?["test_loss"]?.doubleValue != nil)
        #expect(done["best"]?["test_loss"]?.doubleValue != nil)
        let served = try session.history(job)
        #expect(served.count == 5)
        #expect(
            served.allSatisfy { $0["test_loss"]?.doubleValue != nil && $0["validation_loss_std"]?.doubleValue != nil })

        // The same file, named by path, through the code `rewind run` uses.
        let directory = try TemporaryDirectory()
        try Self.csv.write(toFile: directory.file("clusters.csv"), atomically: true, encoding: .utf8)
        let local = JobRequest.prepare(
            specBytes: Array(Self.spec(dataset: #"{"path": "clusters.csv"}"#).utf8),
            datasets: LocalDatasetResolver(baseDirectory: directory.path))
        let run = try local.get()
        var state = run.initialCheckpoint()
        var items: [JSONValue] = []
        while !run.isComplete(state) {
            let (item, next) = try run.step(state)
            items.append(item.json())
            state = next
        }
        #expect(items.map(Self.withoutSeconds) == served.map(Self.withoutSeconds))

        // And the real binary, on a spec file beside the CSV, with parallel seeds.
        try Self.spec(dataset: #"{"path": "clusters.csv"}"#).write(
            toFile: directory.file("spec.json"), atomically: true, encoding: .utf8)
        let (status, output) = try Self.rewindRun(["--quiet", "--threads", "2", directory.file("spec.json")])
        #expect(status == 0)
        let lines = output.split(separator: "\n").map { try! JSONValue.parse(Array($0.utf8)) }
        #expect(lines.map(Self.withoutSeconds) == served.map(Self.withoutSeconds))
    }

    /// Runs the built `rewind run` with `arguments`; its exit status and standard output.
    static func rewindRun(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = try ServerProcess.executableURL()
        process.arguments = ["run"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func aLocalPathIsRefusedByTheServiceAndABadFileByRewindRunLikeAnUpload() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = APISession(service)
        let refused = try session.post("/v1/jobs", json: Self.spec(dataset: #"{"path": "clusters.csv"}"#))
        refused.expectProblem(422)
        #expect(refused.problemFields == ["/dataset/path"], "\(refused.text)")

        let bad = "a,b,label\n1,2,0\n3,x,1\n"
        let upload = try session.request(
            "POST", "/v1/datasets?name=bad", headers: [("Content-Type", "text/csv")], body: Array(bad.utf8))
        upload.expectProblem(422)
        let directory = try TemporaryDirectory()
        try bad.write(toFile: directory.file("bad.csv"), atomically: true, encoding: .utf8)
        let local = JobRequest.prepare(
            specBytes: Array(Self.spec(dataset: #"{"path": "bad.csv"}"#).utf8),
            datasets: LocalDatasetResolver(baseDirectory: directory.path))
        guard case .failure(let error) = local else { Issue.record("a bad CSV was accepted"); return }
        let problem = ProblemDetails(error)
        #expect(problem.status == 422)
        #expect(problem.errors.map(\.field) == ["/dataset/path"])
        #expect(problem.detail == upload.json["detail"]?.stringValue)
        try Self.spec(dataset: #"{"path": "bad.csv"}"#).write(
            toFile: directory.file("spec.json"), atomically: true, encoding: .utf8)
        let (status, output) = try Self.rewindRun(["--quiet", "--json", directory.file("spec.json")])
        #expect(status == 2)
        let printed = try JSONValue.parse(Array(output.utf8))
        #expect(printed["detail"] == upload.json["detail"])
        #expect(printed["errors"]?[0]?["field"]?.stringValue == "/dataset/path")
        let missing = JobRequest.prepare(
            specBytes: Array(Self.spec(dataset: #"{"path": "nope.csv"}"#).utf8),
            datasets: LocalDatasetResolver(baseDirectory: directory.path))
        guard case .failure(let absent) = missing else { Issue.record("a missing file was accepted"); return }
        #expect(absent.errors.map(\.field) == ["/dataset/path"])
    }

    @Test func anEarlyStoppedJobSucceedsSaysSoAndAnswersItsResult() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        // Nothing learned, the same draws every item: no item improves on item 0.
        let job = try session.submit(
            """
            { "dataset": {"name": "digits"}, "split": {"train": 100, "validation": 50},
              "model": {"hidden": []}, "training": {"iterations": 5, "batch_size": 20},
              "hyperparameters": { "learning_rate": {"learn": false}, "momentum": {"learn": false},
                                   "l2": {"learn": false}, "init_scale": {"learn": false} },
              "meta": {"iterations": 20, "reseed": false, "patience": 2} }
            """)
        let done = try session.waitForJob(job, "a terminal status") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        #expect(done["stopped_early"]?.boolValue == true)
        #expect(done["progress"]?["done"]?.intValue == 3)
        #expect(done["progress"]?["total"]?.intValue == 21)
        let result = try session.get("/v1/jobs/\(job)/result")
        #expect(result.status == 200, "\(result.text)")
        #expect(result.json["final"]?["meta_iteration"]?.intValue == 2)
        #expect(result.json["best"]?["meta_iteration"]?.intValue == 0)
    }
}
