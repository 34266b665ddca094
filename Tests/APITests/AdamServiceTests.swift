import Foundation
import JSON
import RewindTestSupport
import Testing
import Tuning

/// Adam jobs (`training.optimizer: "adam"`) through the real service: submitted, validated, run,
/// served, and resumed after `kill -9` with the history of an uninterrupted run.
@Suite("Adam jobs through the service", .serialized)
struct AdamServiceTests {
    static let spec =
        #"{"name":"adam","dataset":{"name":"digits"},"split":{"train":200,"validation":100,"test":100},"#
        + #""model":{"hidden":[8]},"training":{"iterations":10,"batch_size":20,"optimizer":"adam"},"#
        + #""hyperparameters":{"learning_rate":{"init":0.01},"beta2":{"init":0.99,"schedule":"constant"},"#
        + #""weight_decay":{"init":0.01,"per":"block"}},"meta":{"iterations":3,"seeds":2}}"#

    /// Several seconds in a debug build, long enough to kill the process in the middle of it.
    static let long =
        #"{"name":"adam recovery","dataset":{"name":"digits"},"split":{"train":1000,"validation":500},"#
        + #""model":{"hidden":[50]},"training":{"iterations":100,"batch_size":100,"optimizer":"adam"},"#
        + #""hyperparameters":{"learning_rate":{"init":0.003},"weight_decay":{"init":0.001}},"meta":{"iterations":10}}"#

    /// The history `rewind run` computes for `spec` in this process, as the service serves it.
    static func localHistory(_ spec: String) throws -> [String] {
        let directory = try TemporaryDirectory()
        let run = try JobRequest.prepare(
            specBytes: Array(spec.utf8), datasets: LocalDatasetResolver(baseDirectory: directory.path)
        ).get()
        var state = run.initialCheckpoint()
        var items: [String] = []
        while !run.isComplete(state) {
            let (item, next) = try run.step(state)
            items.append(TuningFeaturesTests.withoutSeconds(item.json()))
            state = next
        }
        return items
    }

    @Test func anAdamJobRunsEndToEndAndShowsItsGroups() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let refused = try session.post(
            "/v1/jobs",
            json:
                #"{"dataset":{"name":"digits"},"training":{"optimizer":"adam"},"hyperparameters":{"momentum":{"init":0.5}}}"#
        )
        refused.expectProblem(422)
        #expect(refused.problemFields == ["/hyperparameters/momentum"], "\(refused.text)")

        let id = try session.submit(Self.spec)
        let done = try session.waitForJob(id, timeout: .seconds(60), "a terminal status") {
            ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(done["status"]?.stringValue == "succeeded", "\(done.serializedString())")
        #expect(done["spec"]?["training"]?["optimizer"]?.stringValue == "adam")
        #expect(done["spec"]?["hyperparameters"]?["momentum"] == nil)
        #expect(done["spec"]?["hyperparameters"]?["weight_decay"]?["per"]?.stringValue == "block")
        let served = try session.history(id)
        #expect(served.count == 4)
        for item in served {
            let values = try #require(item["hyperparameters"])
            #expect(values["momentum"] == nil && values["beta1"]?.arrayValue?.count == 10)
            #expect(values["beta2"]?.arrayValue?.count == 1 && values["epsilon"]?.doubleValue != nil)
            #expect(values["weight_decay"]?.arrayValue?.count == 2)
            #expect(item["test_loss"]?.doubleValue != nil && item["validation_loss_std"]?.doubleValue != nil)
        }
        #expect(served.dropLast().allSatisfy { $0["hypergradient"]?["beta1"] != nil })
        #expect(served.map(TuningFeaturesTests.withoutSeconds) == (try Self.localHistory(Self.spec)))
    }

    @Test func anAdamJobKilledWithSIGKILLResumesAndMatchesAnUninterruptedRunBitForBit() throws {
        let restarted = try KilledAndRestarted(Self.long, prefix: "rewind-adam-kill")
        let (second, session, id) = (restarted.server, restarted.session, restarted.id)
        _ = try session.waitForStatus(id, "succeeded", timeout: .seconds(180))
        #expect(second.log.contains("job resumed"), "the restart recomputed from scratch:\n\(second.log)")
        let served = try session.history(id)
        #expect(served.map(TuningFeaturesTests.withoutSeconds) == (try Self.localHistory(Self.long)))
        second.kill(SIGTERM)
        #expect(second.waitForExit(timeout: .seconds(25)) == .exited(0))
    }
}
