import Foundation
import JSON
import Learning
import RewindTestSupport
import Testing

/// The same history item looks the same everywhere: `rewind run` prints each item with the
/// `numeric_fingerprint` of the arithmetic that computed it, as the service stores and serves it.
@Suite("rewind run output")
struct RunOutputTests {
    @Test func rewindRunPrintsItemsWithTheNumericFingerprintLikeTheService() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(TestSpecs.small)
        _ = try session.waitForStatus(id, "succeeded", timeout: .seconds(120))
        let served = try session.history(id)

        let printed = try LocalRun.history(of: TestSpecs.small)
        #expect(printed.count == served.count && !printed.isEmpty)
        for (local, remote) in zip(printed, served) {
            guard case .object(let localObject) = local, case .object(let remoteObject) = remote else {
                Issue.record("an item is not an object")
                return
            }
            #expect(localObject.keys.sorted() == remoteObject.keys.sorted())
            #expect(local["numeric_fingerprint"]?.stringValue == NumericFingerprint.current)
        }
        expectHistory(served, equals: printed, "served against printed")
    }
}
