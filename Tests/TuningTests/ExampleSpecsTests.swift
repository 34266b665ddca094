import Foundation
import Testing
import Tuning

/// Every spec in examples/ is one `rewind run` and the service accept: it prepares (built-in data
/// sets and the local CSV they name) and fits the default job memory.
@Suite("Example specs")
struct ExampleSpecsTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    static var specs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }

    @Test func theExamplesIncludeTheLeNetSpec() {
        #expect(Self.specs.contains("lenet-schedules.json"))
    }

    @Test(arguments: specs) func everyExampleSpecPreparesAndFitsTheDefaultJobMemory(name: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.examples.appendingPathComponent(name)))
        switch JobRequest.prepare(specBytes: bytes, datasets: LocalDatasetResolver(baseDirectory: Self.examples.path)) {
        case .failure(let problem):
            Issue.record("\(name): \(problem)")
        case .success(let run):
            #expect(run.memoryProblem(budget: 1 << 30) == nil, "\(name)")
        }
    }
}
