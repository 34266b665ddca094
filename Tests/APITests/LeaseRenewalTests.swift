import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

/// Issue 15, row 11: a job whose items are large took so long to commit on a busy node that its
/// lease, renewed only between inner training steps, expired: the reaper took it, and after three
/// such attempts it failed `worker_lost` though its worker was alive. Renewals now run on a thread
/// of their own.
@Suite("Lease renewals")
struct LeaseRenewalTests {
    @Test(arguments: StoreEngineChoice.engines)
    func commitsLongerThanTheLeaseDoNotCostTheJobItsLease(_ engine: StoreEngine) throws {
        // Every commit takes 2.5 leases; the reaper looks every 100 ms.
        let service = try TestService(
            engine: engine,
            jobs: {
                $0.leaseMs = 600; $0.heartbeatIntervalMs = 50; $0.reaperIntervalMs = 100
            },
            wrappingStore: { FlakyCommitStore($0, failures: 0, delay: .milliseconds(1_500)) })
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        let done = try session.waitForStatus(id, "succeeded", timeout: .seconds(120))
        #expect(done["attempt"]?.intValue == 1)
        let reasons = try service.store.events(jobID: id).compactMap { event -> String? in
            guard case .object(let data)? = try? JSONValue.parse(event.dataJSON) else { return nil }
            return data["reason"]?.stringValue
        }
        #expect(reasons == ["submitted", "claimed", "finished"])
    }
}
