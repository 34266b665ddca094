import Foundation
import JSON
import NodeResources
import RewindTestSupport
import Testing
import Tuning

/// Issue 15, point 5: a node claims a job only while the estimates of the jobs it runs fit its
/// memory budget. Two workers, a budget that holds one job's estimate but not two: the jobs run
/// one after the other, and both finish.
@Suite("The node memory budget and running jobs")
struct NodeMemoryBudgetTests {
    static let spec =
        #"{"dataset":{"name":"digits"},"split":{"train":400,"validation":200},"model":{"hidden":[20]},"#
        + #""training":{"iterations":1500,"batch_size":20},"hyperparameters":{"momentum":{"init":0.001,"learn":false}},"#
        + #""meta":{"iterations":2}}"#

    @Test func twoJobsThatDoNotFitTogetherRunOneAtATimeAndBothFinish() throws {
        guard case .success(let parsed) = JobSpec.parse(try JSONValue.parse(Array(Self.spec.utf8))) else {
            Issue.record("the spec did not parse")
            return
        }
        let estimate = try TuningRun(spec: parsed, dataset: BuiltinDatasets.digits).initialMemoryEstimate.totalBytes
        let budget = MemoryBudget(capacity: estimate * 3 / 2)
        let service = try TestService(workers: 2, jobs: { $0.memoryBudget = budget })
        defer { service.stop() }
        let session = APISession(service)
        let ids = try (0..<2).map {
            try session.submit(
                Self.spec.replacingOccurrences(of: "{\"dataset\"", with: "{\"name\":\"job \($0)\",\"dataset\""))
        }

        var mostReserved = 0
        var statuses: [String] = []
        let deadline = ContinuousClock.now + .seconds(300)
        repeat {
            statuses = try ids.map { try session.get("/v1/jobs/\($0)").json["status"]?.stringValue ?? "" }
            mostReserved = max(mostReserved, budget.inUse)
            usleep(10_000)
        } while statuses.contains(where: { $0 == "queued" || $0 == "running" }) && ContinuousClock.now < deadline
        #expect(statuses == ["succeeded", "succeeded"])
        #expect(mostReserved >= estimate && mostReserved <= budget.capacity)
        #expect(budget.inUse == 0)

        // Each job trained from just before its first item's commit to its finish: the two spans
        // do not overlap (with two workers and room for both, they would).
        let spans = try ids.map { id -> ClosedRange<Int64> in
            let rows = try service.store.history(jobID: id, after: nil, limit: 10)
            let first = try #require(rows.first)
            let finished = try #require(try service.store.job(id: id)?.finishedMs)
            return (first.createdMs - Int64(first.seconds * 1000))...finished
        }
        #expect(spans[0].upperBound <= spans[1].lowerBound || spans[1].upperBound <= spans[0].lowerBound, "\(spans)")
    }
}
