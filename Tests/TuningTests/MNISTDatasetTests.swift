import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// The built-in MNIST, read from data/mnist.bin.gz: the classic rows, labels and pixels, shared
/// between jobs rather than copied, and counted once in a job's memory estimate.
@Suite("Built-in MNIST")
struct MNISTDatasetTests {
    @Test func hasTheClassicRowsClassesAndSplit() throws {
        let mnist = try #require(BuiltinDatasets.named("mnist"))
        #expect(mnist.info == DatasetInfo(rows: 70_000, features: 784, classes: 10))
        #expect(BuiltinDatasets.info("mnist") == mnist.info)
        #expect(mnist.shape == ImageShape(height: 28, width: 28, channels: 1))
        #expect(BuiltinDatasets.mnistTrainingRows == 60_000)
        // The classic training set's label counts, then the test set's, and their first labels.
        #expect(
            mnist.rows(0..<60_000).labelCounts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        #expect(mnist.rows(60_000..<70_000).labelCounts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(Array(mnist.labels[0..<10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
        #expect(Array(mnist.labels[60_000..<60_010]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    }

    @Test func pixelsAreTheBytesOver256() throws {
        let mnist = try #require(BuiltinDatasets.mnist)
        // The middle row (14) of the first image, a 5: columns 13...18 hold 81, 240, 253, 253, 119, 25.
        let row = Array(mnist.inputs[(14 * 28)..<(15 * 28)])
        #expect(Array(row[13...18]) == [81, 240, 253, 253, 119, 25].map { Double($0) / 256 })
        #expect(row[12] == 0 && row[19] == 0)
        // The last image's first ink, at pixels 73, 74 and 75.
        let last = 69_999 * 784
        #expect(Array(mnist.inputs[(last + 72)...(last + 75)]) == [0, 8, 117, 254].map { Double($0) / 256 })
        #expect(mnist.inputs.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(mnist.inputs.reduce(0, +) == 1_832_221_745.0 / 256)
    }

    @Test func theFileHoldsWhatItsFingerprintSays() throws {
        let path = try #require(MNISTData.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gunzip -c \"$0\" | sha256sum", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.hasPrefix(MNISTData.sha256 + " "))
        #expect(BuiltinDatasets.knownSHA256("mnist") == MNISTData.sha256)
        // Anything but the exact layout is refused rather than half-read.
        let digits = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("digits.csv.gz")
        #expect(MNISTData.readFile(at: digits.path) == nil)
        #expect(MNISTData.readFile(at: "/nonexistent/mnist.bin.gz") == nil)
    }

    @Test func jobsShareTheDecodedRowsAndTheEstimateCountsThemOnce() throws {
        let mnist = try #require(BuiltinDatasets.named("mnist"))
        let shared = 70_000 * 784 * 8 + 70_000 * 4
        #expect(BuiltinDatasets.sharedBytes(of: mnist) == shared)
        #expect(BuiltinDatasets.sharedBytes(of: BuiltinDatasets.named("mnist")!) == shared)
        // A copy of the same numbers is a job's own data, not the shared instance.
        let copy = Dataset(
            name: "mnist", features: 784, classes: 10, inputs: mnist.inputs.map { $0 }, labels: mnist.labels,
            shape: mnist.shape)
        #expect(copy == mnist)
        #expect(BuiltinDatasets.sharedBytes(of: copy) == 0)
        #expect(BuiltinDatasets.sharedBytes(of: BuiltinDatasets.digits) == 0)

        let run = try TuningRun(spec: tinyMNISTSpec(), dataset: mnist)
        let estimate = run.initialMemoryEstimate
        // The shared rows once, plus the 300 rows the split cuts (inputs and labels).
        #expect(estimate.dataBytes == shared + 8 * 300 * 784 + 8 * 300)
    }

    @Test func aTinyJobOnMNISTTrainsAndStepsItsHyperparameters() throws {
        let mnist = try #require(BuiltinDatasets.named("mnist"))
        let run = try TuningRun(spec: tinyMNISTSpec(), dataset: mnist)
        #expect(run.training.rows == 200 && run.validation.rows == 100)
        #expect(run.training.features == 784)
        #expect(Array(run.training.labels[0..<5]) == [5, 0, 4, 1, 9])
        #expect(Array(run.validation.labels[0..<3]) == Array(mnist.labels[200..<203]))
        var checkpoint = run.initialCheckpoint()
        var losses: [Double] = []
        while !run.isComplete(checkpoint) {
            let (item, next) = try run.step(checkpoint)
            losses.append(item.validationLoss)
            checkpoint = next
        }
        #expect(losses.count == 3)
        #expect(losses.allSatisfy { $0.isFinite && $0 < log(10) + 0.5 })
        #expect(checkpoint.unconstrained != run.initialCheckpoint().unconstrained)
    }

    @Test(arguments: ["mnist-schedules", "mnist-per-weight-l2", "mnist-chaos"])
    func theFullSizeExamplesParseAndFitTheDefaultJobBudget(_ example: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let bytes = try Data(contentsOf: root.appendingPathComponent("examples/\(example).json"))
        guard case .success(let spec) = JobSpec.parse(try JSONValue.parse(Array(bytes))) else {
            Issue.record("examples/\(example).json does not parse")
            return
        }
        #expect(spec.dataset == .builtin("mnist"))
        let run = try TuningRun(spec: spec, dataset: try #require(BuiltinDatasets.mnist))
        #expect(run.memoryProblem(budget: 1 << 30) == nil, "\(run.initialMemoryEstimate.summary)")
    }

    func tinyMNISTSpec() throws -> JobSpec {
        let value = try JSONValue.parse(
            #"{"dataset":{"name":"mnist"},"split":{"train":200,"validation":100},"model":{"hidden":[8]},"#
                + #""training":{"iterations":5,"batch_size":20,"seed":1},"meta":{"iterations":2,"step_size":0.05}}"#)
        guard case .success(let spec) = JobSpec.parse(value) else { throw SpecErrors([]) }
        return spec
    }
}
