import Foundation
import RewindTestSupport
import Testing
import Tuning

/// Every spec in examples/ is accepted by what runs it (`rewind run` and the service for a job spec,
/// `rewind experiment-sharing` for a weight-sharing spec): it prepares (built-in data sets and the
/// local CSV they name) and a job fits the default job memory.
@Suite("Example specs")
struct ExampleSpecsTests {
    @Test func theExamplesIncludeTheLeNetSpec() {
        #expect(ExampleSpecs.names.contains("lenet-schedules.json"))
    }

    @Test(arguments: ExampleSpecs.names) func everyExampleSpecPreparesAndFitsTheDefaultJobMemory(name: String) {
        switch ExampleSpecs.prepare(name) {
        case .failure(let problem):
            Issue.record("\(problem)")
        case .success(.job(let run)):
            #expect(run.memoryProblem(budget: 1 << 30) == nil, "\(name)")
        case .success(.weightSharing(let settings)):
            #expect(settings.tasks == 10, "\(name)")
        }
    }
}
