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

    /// Two small conv nets on the digits as 8×8×1 images that between them hold every layer type
    /// the replays build: stride 2 with "same" padding's odd row at the bottom, an explicit flatten
    /// of a 2×2×6 image, average pooling; a pooling window that leaves a remainder (3 on 8), an
    /// even kernel with "same" padding, an implicit flatten of 2×2×8. Each case: the spec's layers,
    /// the exported layer types, the exported padding of the first conv2d and the block names.
    static let convNets: [(layers: String, types: [String], pad: [Int], blocks: [String])] = [
        (
            #"""
            [{"type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "padding": "same"}, {"type": "sigmoid"},
             {"type": "avgpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "tanh"}]
            """#,
            ["conv2d", "sigmoid", "avgpool", "flatten", "dense", "tanh", "dense"], [0, 1, 0, 1],
            ["conv2d_1", "dense_1", "dense_2"]
        ),
        (
            #"""
            [{"type": "conv2d", "filters": 6, "kernel": 3, "stride": 1, "padding": "same"}, {"type": "tanh"},
             {"type": "maxpool", "size": 3},
             {"type": "conv2d", "filters": 8, "kernel": 2, "stride": 1, "padding": "same"}, {"type": "relu"}]
            """#,
            ["conv2d", "tanh", "maxpool", "conv2d", "relu", "flatten", "dense"], [1, 1, 1, 1],
            ["conv2d_1", "conv2d_2", "dense_1"]
        ),
    ]

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

    /// `rewind export-schedule` of job `id`'s item 1 into `scratch`: the file's path and its JSON.
    static func exportSchedule(url: String, id: String, in scratch: TemporaryDirectory) throws -> (String, JSONValue) {
        let schedulePath = scratch.file("schedule.json")
        let exported = try CommandLineRun.rewind([
            "export-schedule", "--url", url, id, "--item", "1", "--output", schedulePath,
        ])
        try #require(exported.status == 0, "export-schedule: \(exported.stderr)")
        return (schedulePath, try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: schedulePath)))))
    }

    /// `rewind export --spec` for item 1, then `examples/replay_numpy.py` on it and the exported
    /// schedule, required to reach Rewind's validation loss within 1e-6; the replay's path.
    static func replayWithNumPy(specPath: String, schedulePath: String, in scratch: TemporaryDirectory) throws -> String
    {
        let replayPath = scratch.file("replay.json")
        let replay = try CommandLineRun.rewind(["export", "--spec", specPath, "--item", "1", "--output", replayPath])
        try #require(replay.status == 0, "export --spec: \(replay.stderr)")
        let script = "\(repository)/examples/replay_numpy.py"
        let numpy = try CommandLineRun.run("python3", [script, replayPath, schedulePath, "--tolerance", "1e-6"])
        #expect(
            numpy.status == 0,
            "the NumPy replay failed (is numpy installed? pip install numpy): \(numpy.stdout) \(numpy.stderr)")
        let report = try JSONValue.parse(numpy.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try #require(report["difference"]?.doubleValue) <= 1e-6)
        return replayPath
    }

    /// The optax and PyTorch recipes of the docs on an exported replay, where the interpreter named
    /// by PYTHON (default python3) has those libraries (CI has only NumPy; scripts/check-recipes.sh
    /// runs them on the examples): the same replay, the same tolerance, which each script enforces
    /// by its exit status.
    static func replayWithLibraries(_ replayPath: String, _ schedulePath: String) throws {
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "python3"
        for (module, name) in [("optax", "replay_optax.py"), ("torch", "replay_torch.py")] {
            guard try CommandLineRun.run(python, ["-c", "import \(module)"]).status == 0 else { continue }
            let recipe = try CommandLineRun.run(
                python, ["\(repository)/examples/\(name)", replayPath, schedulePath, "--tolerance", "1e-6"],
                environment: ["JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "1"], timeout: .seconds(600))
            #expect(recipe.status == 0, "\(name): \(recipe.stdout) \(recipe.stderr)")
        }
    }

    @Test func theNumPyReplayOfAnExportedScheduleReachesRewindsValidationLossToOneMillionth() throws {
        try replay(Self.spec, iterations: 40, blocks: 6)
    }

    @Test(arguments: 0..<2) func theNumPyReplayOfAConvNetReachesRewindsValidationLossToOneMillionth(net: Int) throws {
        let (layers, types, pad, blocks) = Self.convNets[net]
        let spec = """
            {"name": "replay-conv", "dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 797},
             "model": {"layers": \(layers)},
             "training": {"iterations": 30, "batch_size": 100, "seed": 3, "batches": "random"},
             "hyperparameters": {"learning_rate": {"init": 0.5}, "init_scale": {"init": 0.3}},
             "meta": {"iterations": 2, "step_size": 0.05}}
            """
        let replay = try replay(spec, iterations: 30, blocks: 2 * blocks.count)
        let names = try #require(replay["blocks"]?.arrayValue).compactMap { $0["name"]?.stringValue }
        #expect(names == blocks.flatMap { ["\($0).weights", "\($0).biases"] })
        let exported = try #require(replay["architecture"]?["layers"]?.arrayValue)
        #expect(exported.compactMap { $0["type"]?.stringValue } == types)
        #expect(exported[0]["pad"] == JSONValue(pad.map(Double.init)))
        #expect(exported[0]["weights"] == "conv2d_1.weights")
        #expect(exported.last?["units"] == 10 && exported.last?["biases"] == .string("\(blocks.last!).biases"))
        #expect(replay["architecture"]?["input_shape"] == [8, 8, 1])
    }

    /// Runs `spec` in the service, exports item 1's schedule and its replay inputs, replays them
    /// with NumPy (and optax/PyTorch where installed); returns the replay document.
    @discardableResult
    private func replay(_ spec: String, iterations: Int, blocks: Int) throws -> JSONValue {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let (scratch, specPath, url, id) = try Self.submitThroughCLI(spec, to: service)

        // Item 1 trained with a schedule learned by one meta-step: every (t, k) differs.
        let (schedulePath, schedule) = try Self.exportSchedule(url: url, id: id, in: scratch)
        let rates = try #require(schedule["learning_rate"]?.arrayValue)
        #expect(rates.count == iterations && rates.allSatisfy { $0.arrayValue?.count == blocks })
        #expect(Set(rates.compactMap { $0[0]?.doubleValue }).count > 1, "the learned rates vary over iterations")
        #expect(schedule["item"]?.intValue == 1)
        #expect(schedule["l2"]?.arrayValue?.count == blocks)
        #expect(schedule["l2"]?[1]?.doubleValue == 0, "biases carry no L2")
        let history = try session.history(id)
        #expect(schedule["validation_loss"] == history[1]["validation_loss"])

        let replayPath = try Self.replayWithNumPy(specPath: specPath, schedulePath: schedulePath, in: scratch)
        try Self.replayWithLibraries(replayPath, schedulePath)
        let document = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: replayPath))))
        // The schedule's columns are the replay's blocks, by name.
        #expect(
            schedule["blocks"]?.arrayValue?.map { $0["name"] } == document["blocks"]?.arrayValue?.map { $0["name"] })
        return document
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
