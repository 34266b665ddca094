import Foundation
import JSON
import RewindTestSupport
import Testing

/// `GET /v1/jobs/{id}/schedule`, `rewind export-schedule` and the NumPy replay of
/// docs/using-learned-schedules.md: a learned schedule taken out of Rewind trains the same network.
@Suite("Learned schedules leave Rewind")
struct LearnedScheduleTests {
    /// The digits MLP of the quick start with a shorter run; seed 3, random batches.
    static let spec = #"""
        {"name": "replay", "dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 797},
         "model": {"hidden": [50, 50], "activation": "tanh"},
         "training": {"iterations": 40, "batch_size": 100, "seed": 3, "batches": "random"},
         "meta": {"iterations": 2, "step_size": 0.05}}
        """#

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Writes `spec` to a scratch folder, submits it through the CLI (with a URL that has no
    /// scheme) and waits for it to succeed: the folder, the spec's path, the URL and the job id.
    static func submitThroughCLI(
        _ spec: String, to service: TestService
    ) throws -> (scratch: TemporaryDirectory, specPath: String, url: String, id: String) {
        let scratch = try TemporaryDirectory(prefix: "rewind-replay")
        let specPath = scratch.file("spec.json")
        try Data(spec.utf8).write(to: URL(fileURLWithPath: specPath))
        let url = "127.0.0.1:\(service.port)"
        let submitted = try CommandLineRun.rewind(["submit", "--url", url, specPath])
        try #require(submitted.status == 0, "submit: \(submitted.stderr)")
        let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try APISession(service).waitForStatus(id, "succeeded", timeout: .seconds(90))
        return (scratch, specPath, url, id)
    }

    @Test func theNumPyReplayOfAnExportedScheduleReachesRewindsValidationLossToOneMillionth() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let (scratch, specPath, url, id) = try Self.submitThroughCLI(Self.spec, to: service)

        // Item 1 trained with a schedule learned by one meta-step: every (t, k) differs.
        let schedulePath = scratch.file("schedule.json")
        let exported = try CommandLineRun.rewind([
            "export-schedule", "--url", url, id, "--item", "1", "--output", schedulePath,
        ])
        try #require(exported.status == 0, "export-schedule: \(exported.stderr)")
        let schedule = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: schedulePath))))
        let rates = try #require(schedule["learning_rate"]?.arrayValue)
        #expect(rates.count == 40 && rates.allSatisfy { $0.arrayValue?.count == 6 })
        #expect(Set(rates.compactMap { $0[0]?.doubleValue }).count > 1, "the learned rates vary over iterations")
        #expect(schedule["item"]?.intValue == 1)
        #expect(schedule["l2"]?.arrayValue?.count == 6)
        #expect(schedule["l2"]?[1]?.doubleValue == 0, "biases carry no L2")
        let history = try session.history(id)
        #expect(schedule["validation_loss"] == history[1]["validation_loss"])

        let replayPath = scratch.file("replay.json")
        let replay = try CommandLineRun.rewind(["export", "--spec", specPath, "--item", "1", "--output", replayPath])
        try #require(replay.status == 0, "export --spec: \(replay.stderr)")

        let script = "\(Self.repository)/examples/replay_numpy.py"
        let numpy = try CommandLineRun.run("python3", [script, replayPath, schedulePath, "--tolerance", "1e-6"])
        #expect(
            numpy.status == 0,
            "the NumPy replay failed (is numpy installed? pip install numpy): \(numpy.stdout) \(numpy.stderr)")
        let report = try JSONValue.parse(numpy.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let difference = try #require(report["difference"]?.doubleValue)
        #expect(difference <= 1e-6)

        // The optax and PyTorch recipes of the docs, where those libraries are installed (CI has
        // only NumPy): the same replay, the same tolerance.
        for (module, name) in [("optax", "replay_optax.py"), ("torch", "replay_torch.py")] {
            guard try CommandLineRun.run("python3", ["-c", "import \(module)"]).status == 0 else { continue }
            let recipe = try CommandLineRun.run(
                "python3", ["\(Self.repository)/examples/\(name)", replayPath, schedulePath],
                environment: ["JAX_PLATFORMS": "cpu"])
            #expect(recipe.status == 0, "\(name): \(recipe.stdout) \(recipe.stderr)")
        }
    }

    @Test func theScheduleIsAPlainCSVTableAndDefaultsToTheBestItem() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        let job = try session.waitForStatus(id, "succeeded")

        let csv = try session.get("/v1/jobs/\(id)/schedule?item=2&format=csv")
        #expect(csv.status == 200)
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        let lines = csv.text.split(separator: "\n")
        #expect(lines.first == "iteration,block,name,learning_rate,momentum,momentum_applied,l2,init_scale")
        // 10 training iterations × 4 blocks (W1, b1, W2, b2), one header.
        #expect(lines.count == 41)
        #expect(lines[1].hasPrefix("0,0,W1,"))
        #expect(lines[40].hasPrefix("9,3,b2,"))

        let best = try session.get("/v1/jobs/\(id)/schedule")
        #expect(best.status == 200)
        #expect(best.json["item"] == job["best"]?["meta_iteration"])
    }

    @Test func badSchedulRequestsNameTheParameter() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        try session.waitForStatus(id, "succeeded")
        let format = try session.get("/v1/jobs/\(id)/schedule?format=xml")
        format.expectProblem(422)
        #expect(format.json["errors"]?[0]?["field"]?.stringValue == "?format")
        try session.get("/v1/jobs/\(id)/schedule?item=4").expectProblem(422)
        try session.get("/v1/jobs/no-such-job/schedule").expectProblem(404)

        let queuedService = try TestService(startsWorkers: false)
        defer { queuedService.stop() }
        let queued = try APISession(queuedService).submit(TestSpecs.small)
        try APISession(queuedService).get("/v1/jobs/\(queued)/schedule").expectProblem(409)
    }
}
