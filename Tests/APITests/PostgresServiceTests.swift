import JSON
import RewindTestSupport
import Storage
import Testing

/// The whole service on the PostgreSQL engine, through HTTP: the API and the workers do not know
/// which engine runs, so what holds on SQLite holds here, and across nodes sharing one database.
@Suite(
    "Service on PostgreSQL",
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
struct PostgresServiceTests {
    /// The history of a finished job without its timings, which differ from run to run.
    private func historyWithoutSeconds(_ session: APISession, _ id: String) throws -> [JSONValue] {
        let items = try session.history(id)
        return items.map { item in
            guard case .object(var object) = item else { return item }
            object["seconds"] = nil
            return .object(object)
        }
    }

    @Test func jobRunsToSuccessWithTheSameHistoryAsOnSQLite() throws {
        var histories: [[JSONValue]] = []
        for engine in [StoreEngine.sqlite, .postgresql] {
            let service = try TestService(engine: engine)
            defer { service.stop() }
            let session = APISession(service)
            let id = try session.submit(TestSpecs.small)
            let done = try session.waitForJob(id, "a terminal status") { job in
                ["succeeded", "failed", "cancelled"].contains(job["status"]?.stringValue ?? "")
            }
            #expect(done["status"]?.stringValue == "succeeded", "\(engine): \(done.serializedString())")
            #expect(done["progress"]?["done"]?.intValue == 4)
            histories.append(try historyWithoutSeconds(session, id))
        }
        #expect(histories[0].count == 4)
        #expect(histories[0] == histories[1])
    }

    @Test func aSecondNodeReadsReplaysAndCancelsWhatTheFirstAccepted() throws {
        let first = try TestService(startsWorkers: false, engine: .postgresql)
        defer { first.stop() }
        let second = try TestService(startsWorkers: false, engine: .postgresql, sharingDatabaseOf: first)
        defer { second.stop() }
        let a = APISession(first), b = APISession(second)
        let key = [("Idempotency-Key", "same-key-on-two-nodes")]
        let created = try a.post("/v1/jobs", json: TestSpecs.small, headers: key)
        #expect(created.status == 202)
        let id = try #require(created.json["id"]?.stringValue)
        let replayed = try b.post("/v1/jobs", json: TestSpecs.small, headers: key)
        #expect(replayed.json["id"]?.stringValue == id)
        #expect(try b.get("/v1/jobs/\(id)").json["status"]?.stringValue == "queued")
        let cancelled = try b.post("/v1/jobs/\(id)/cancel", json: "")
        #expect(cancelled.status == 202)
        #expect(try a.get("/v1/jobs/\(id)").json["status"]?.stringValue == "cancelled")
    }
}
