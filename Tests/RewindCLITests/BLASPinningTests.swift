import Foundation
import Testing

/// The canonical problem (digits 1000/797, 64-50-50-10 tanh, batch 100) as a spec, cut to 20 inner
/// steps and one meta-step so that two runs of the debug binary take seconds.
private let canonicalSpec = """
    {"name": "canonical, short", "dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 797},
     "model": {"hidden": [50, 50], "activation": "tanh"},
     "training": {"iterations": 20, "batch_size": 100, "seed": 0, "batches": "random"},
     "hyperparameters": {
       "learning_rate": {"init": 0.5, "schedule": "per_iteration", "per_block": true, "learn": true},
       "momentum": {"init": 0.9, "schedule": "per_iteration", "per_block": true, "learn": true},
       "l2": {"init": 0.0001, "per": "block", "learn": true},
       "init_scale": {"init": 0.1, "per": "block", "learn": true}},
     "meta": {"iterations": 1, "optimizer": "adam", "step_size": 0.04, "objective": "validation_loss"}}
    """

/// `rewind run` as a child process with exactly the given BLAS variables (the test's own are
/// removed), returning the history lines without their `seconds` and the stderr text.
private func runCanonical(_ variables: [String: String]) throws -> (history: [String], log: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-blas-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let spec = directory.appendingPathComponent("spec.json")
    try Data(canonicalSpec.utf8).write(to: spec)

    let process = Process()
    process.executableURL = try rewindExecutable()
    process.arguments = ["run", spec.path]
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = nil
    environment["REWIND_BLAS_CORETYPE"] = nil
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment.merge(variables) { _, new in new }
    process.environment = environment
    let output = directory.appendingPathComponent("out"), errors = directory.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: output)
    process.standardError = try FileHandle(forWritingTo: errors)
    try process.run()
    process.waitUntilExit()
    let log = try String(contentsOf: errors, encoding: .utf8)
    #expect(process.terminationStatus == 0, "rewind run failed: \(log)")
    let history = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map { line in
        line.replacingOccurrences(of: #""seconds":[-0-9.eE+]+,?"#, with: "", options: .regularExpression)
    }
    return (history, log)
}

/// The `rewind` executable beside the test bundle (SwiftPM builds both into one directory).
private func rewindExecutable() throws -> URL {
    var candidates: [URL] = []
    if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: bundle).deletingLastPathComponent())
    }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent())
    for directory in candidates {
        let path = directory.appendingPathComponent("rewind")
        if FileManager.default.isExecutableFile(atPath: path.path) { return path }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "build the rewind executable first"])
}

@Suite("BLAS kernel pinning", .serialized)
struct BLASPinningTests {
    @Test("the same spec gives the same history whatever OPENBLAS_CORETYPE the environment holds")
    func environmentDoesNotChangeTheHistory() throws {
        let unset = try runCanonical([:])
        let sandyBridge = try runCanonical(["OPENBLAS_CORETYPE": "SandyBridge"])
        #expect(unset.history.count == 2)
        #expect(unset.history == sandyBridge.history)
        // Both ran on the pinned family, and said so.
        let line = unset.log.split(separator: "\n").first { $0.contains("arithmetic:") }.map(String.init) ?? ""
        #expect(line.contains("kernels "))
        #expect(sandyBridge.log.contains(line))

        // The control: without pinning the environment's family is used, and on a CPU whose pinned
        // family is Haswell, SandyBridge's kernels change the bits (so the test above can fail).
        if line.hasSuffix("kernels Haswell") {
            let native = try runCanonical(["OPENBLAS_CORETYPE": "SandyBridge", "REWIND_BLAS_CORETYPE": "native"])
            #expect(native.log.contains("kernels Sandybridge"))
            #expect(native.history != unset.history)
        }
    }
}
