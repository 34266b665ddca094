import Digest
import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

@testable import API

/// Issue 10, point 7: every job, data set and idempotency key belongs to the principal that made
/// it. Another principal gets 404 (as for an id that does not exist) and never sees it listed;
/// an admin sees everything.
@Suite("Security: tenants", .serialized)
struct TenantTests {
    static let csv = Array("x,label\n0.1,0\n0.2,1\n0.3,0\n0.4,1\n".utf8)

    /// Both engines when the PostgreSQL server is installed.
    static let engines: [StoreEngine] = PostgresCluster.isAvailable ? [.sqlite, .postgresql] : [.sqlite]

    @Test(arguments: engines)
    func aPrincipalCannotSeeOrTouchAnotherPrincipalsJobsDataSetsOrIdempotencyKeys(_ engine: StoreEngine) throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["seeded-admin"]
        let service = try TestService(api: configuration, startsWorkers: false, engine: engine)
        defer { service.stop() }
        for (name, key) in [("key1", "secret-one"), ("key2", "secret-two")] {
            #expect(
                try service.store.createAPIKey(
                    name: name, keySHA256: SHA256.hex(of: Array(key.utf8)), role: .user, nowMs: 1))
        }
        let one = SecuritySession(port: service.port, apiKey: "secret-one")
        let two = SecuritySession(port: service.port, apiKey: "secret-two")
        let admin = SecuritySession(port: service.port, apiKey: "seeded-admin")

        // The same Idempotency-Key and body from key2 is key2's own new job, never key1's.
        let idempotent = [("Idempotency-Key", "shared")]
        let first = try one.postJSON("/v1/jobs", SecuritySpecs.small(name: "one's job"), headers: idempotent)
        #expect(first.status == 202)
        let id1 = try #require(first.json["id"]?.stringValue)
        let second = try two.postJSON("/v1/jobs", SecuritySpecs.small(name: "one's job"), headers: idempotent)
        #expect(second.status == 202)
        let id2 = try #require(second.json["id"]?.stringValue)
        #expect(id1 != id2)
        #expect(
            try one.postJSON("/v1/jobs", SecuritySpecs.small(name: "one's job"), headers: idempotent).json["id"]?
                .stringValue == id1)

        // Every route of key1's job answers 404 to key2, exactly as for a job that does not exist.
        let missing = try two.get("/v1/jobs/no-such-job")
        for target in ["", "/history", "/result", "/schedule", "/events", "/plots/learning_curves.svg"] {
            let answer = try two.get("/v1/jobs/\(id1)\(target)")
            #expect(answer.status == 404, "GET \(target): \(answer.status)")
            #expect(answer.json["title"] == missing.json["title"])
        }
        #expect(try two.request("POST", "/v1/jobs/\(id1)/cancel").status == 404)
        #expect(try two.request("POST", "/v1/jobs/\(id1)/retry").status == 404)
        #expect(try two.request("DELETE", "/v1/jobs/\(id1)").status == 404)
        #expect(try two.get("/jobs/\(id1)").status == 404)
        #expect(try one.get("/v1/jobs/\(id1)").json["status"]?.stringValue == "queued")  // untouched
        #expect(try ids(two.get("/v1/jobs")) == [id2])
        #expect(try ids(one.get("/v1/jobs")) == [id1])
        #expect(try !two.get("/").text.contains(id1))

        // Data sets: key2 neither sees nor resolves nor deletes key1's; names are unique per owner.
        let upload = try one.request(
            "POST", "/v1/datasets?name=mine", headers: [("Content-Type", "text/csv")], body: Self.csv)
        #expect(upload.status == 201)
        let dataset1 = try #require(upload.json["id"]?.stringValue)
        #expect(try two.get("/v1/datasets/\(dataset1)").status == 404)
        #expect(try two.request("DELETE", "/v1/datasets/\(dataset1)").status == 404)
        #expect(try !two.get("/v1/datasets").text.contains(dataset1))
        let byName =
            #"{"dataset":{"name":"mine"},"model":{"hidden":[4]},"training":{"iterations":5,"batch_size":2},"meta":{"iterations":1}}"#
        let unresolved = try two.postJSON("/v1/jobs", byName)
        #expect(unresolved.status == 422 && unresolved.text.contains("no data set has this name"))
        let byID =
            #"{"dataset":{"id":"\#(dataset1)"},"model":{"hidden":[4]},"training":{"iterations":5,"batch_size":2},"meta":{"iterations":1}}"#
        #expect(try two.postJSON("/v1/jobs", byID).status == 422)
        let own = try two.request(
            "POST", "/v1/datasets?name=mine", headers: [("Content-Type", "text/csv")], body: Self.csv)
        #expect(own.status == 201)
        #expect(own.json["id"]?.stringValue != dataset1)
        #expect(try !one.postJSON("/v1/jobs", byName).text.contains("no data set has this name"))

        // The admin sees and manages everyone's.
        #expect(try Set(ids(admin.get("/v1/jobs"))).isSuperset(of: [id1, id2]))
        #expect(try admin.get("/v1/jobs/\(id1)").status == 200)
        #expect(try admin.get("/v1/datasets/\(dataset1)").status == 200)
        #expect(try admin.request("POST", "/v1/jobs/\(id2)/cancel").status == 202)

        // Metrics name no job, no job id and no principal.
        let metrics = try SecuritySession(port: service.port).get("/metrics").text
        for secret in [id1, id2, "one's job", "key1", "key2", dataset1] {
            #expect(!metrics.contains(secret), "\(secret)")
        }
    }

    private func ids(_ response: HTTPTestResponse) throws -> [String] {
        (response.json["jobs"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }
}
