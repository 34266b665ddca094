import Foundation
import JSON
import RewindTestSupport
import Testing

/// The built-in `mnist` over HTTP: listed beside digits with its size and fingerprint, not
/// deletable, and a job on it runs to success on a real server.
@Suite("Built-in MNIST over HTTP")
struct BuiltinMNISTTests {
    @Test func mnistIsListedAndATinyJobOnItSucceeds() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)

        let all = try session.get("/v1/datasets").json["datasets"]?.arrayValue ?? []
        let mnist = try #require(all.first { $0["name"]?.stringValue == "mnist" })
        #expect(mnist["builtin"]?.boolValue == true)
        #expect(mnist["rows"]?.intValue == 70_000)
        #expect(mnist["features"]?.intValue == 784)
        #expect(mnist["classes"]?.intValue == 10)
        #expect(mnist["sha256"]?.stringValue == "a8b459269d668b4ab413bd8d37e670255d02e09a42a5fbe1200663050f973486")
        #expect(try session.get("/v1/datasets/mnist").json == mnist)
        try session.delete("/v1/datasets/mnist").expectProblem(409)

        let spec =
            #"{"name":"mnist tiny","dataset":{"name":"mnist"},"split":{"train":100,"validation":50},"#
            + #""model":{"hidden":[4]},"training":{"iterations":4,"batch_size":20},"meta":{"iterations":2}}"#
        let job = try session.submit(spec)
        let done = try session.waitForJob(job, "a terminal status") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        let history = try session.history(job)
        #expect(history.count == 3)
        #expect(history.allSatisfy { ($0["validation_loss"]?.doubleValue ?? .nan).isFinite })
    }
}
