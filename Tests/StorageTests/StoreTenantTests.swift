import Foundation
import RewindTestSupport
import Testing

@testable import Storage

@Suite("Store: owners of jobs, data sets and idempotency keys; stored keys and sessions")
struct StoreTenantTests {
    private func newJob(_ id: String, owner: String) -> NewJob {
        NewJob(id: id, name: "n", specJSON: "{}", progressTotal: 3, owner: owner)
    }

    private func newDataset(_ id: String, owner: String, sha: Character = "a", builtin: Bool = false) -> NewDataset {
        NewDataset(
            id: id, name: "set \(id)", rows: 2, features: 1, classes: 2, sha256: String(repeating: sha, count: 64),
            content: [1, 2, 3], builtin: builtin, owner: owner)
    }

    @Test(
        "Listings show one owner's jobs (nil: everyone's); keys are scoped per owner", arguments: StoreFixture.engines)
    func jobsPerOwner(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let key = (key: "same-key", requestSHA256: "h")
        guard
            case .created(let alices) = try store.insertJob(
                newJob("a1", owner: "alice"), idempotency: key, maxQueued: 10, nowMs: 1)
        else { Issue.record("not created"); return }
        #expect(try alices.owner == "alice" && store.job(id: "a1")?.owner == "alice")
        // Bob's identical key is another key: a new job, never Alice's.
        guard
            case .created(let bobs) = try store.insertJob(
                newJob("b1", owner: "bob"), idempotency: key, maxQueued: 10, nowMs: 2)
        else { Issue.record("bob's key must not replay alice's job"); return }
        #expect(bobs.owner == "bob")
        #expect(
            try store.insertJob(newJob("a2", owner: "alice"), idempotency: key, maxQueued: 10, nowMs: 3)
                == .replayed(alices))
        _ = try store.insertJob(newJob("b2", owner: "bob"), idempotency: nil, maxQueued: 10, nowMs: 4)

        #expect(try store.listJobs(owner: "alice", limit: 10).jobs.map(\.id) == ["a1"])
        #expect(try store.listJobs(owner: "bob", limit: 10).jobs.map(\.id) == ["b2", "b1"])
        #expect(try store.listJobs(owner: nil, limit: 10).jobs.map(\.id) == ["b2", "b1", "a1"])
        #expect(try store.listJobs(status: .queued, owner: "bob", limit: 10).jobs.map(\.id) == ["b2", "b1"])
        // Pages continue within the owner's jobs.
        let first = try store.listJobs(status: nil, owner: "bob", limit: 1, pageToken: nil)
        #expect(first.jobs.map(\.id) == ["b2"])
        let second = try store.listJobs(status: nil, owner: "bob", limit: 1, pageToken: first.nextPageToken)
        #expect(second.jobs.map(\.id) == ["b1"] && second.nextPageToken == nil)
        #expect(try store.listJobs(owner: "carol", limit: 10).jobs.isEmpty)
    }

    @Test("Uploads dedupe per owner and list per owner, built-ins for everyone", arguments: StoreFixture.engines)
    func datasetsPerOwner(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        guard case .created = try store.insertDataset(newDataset("d1", owner: "alice"), nowMs: 1) else {
            Issue.record("d1"); return
        }
        // The same bytes from Bob are Bob's own data set, not Alice's.
        guard case .created(let bobs) = try store.insertDataset(newDataset("d2", owner: "bob"), nowMs: 2) else {
            Issue.record("bob's upload must not answer alice's data set"); return
        }
        #expect(bobs.owner == "bob")
        guard case .existing(let again) = try store.insertDataset(newDataset("d3", owner: "bob"), nowMs: 3) else {
            Issue.record("bob's second upload dedupes"); return
        }
        #expect(again.id == "d2")
        _ = try store.insertDataset(newDataset("b", owner: Principal.anonymous, sha: "b", builtin: true), nowMs: 4)
        #expect(try store.listDatasets(owner: "alice").map(\.id) == ["b", "d1"])
        #expect(try store.listDatasets(owner: "bob").map(\.id) == ["b", "d2"])
        #expect(try store.listDatasets(owner: nil).map(\.id) == ["b", "d1", "d2"])
        #expect(try store.dataset(id: "d1")?.owner == "alice")
    }

    @Test(
        "Stored keys: created once per name, found by digest, touched, listed, revoked with their sessions",
        arguments: StoreFixture.engines)
    func keysAndSessions(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let digest = String(repeating: "1", count: 64), other = String(repeating: "2", count: 64)
        #expect(try store.hasAPIKeys() == false)
        #expect(try store.createAPIKey(name: "ci", keySHA256: digest, role: .user, nowMs: 10))
        #expect(try store.createAPIKey(name: "ci", keySHA256: other, role: .admin, nowMs: 11) == false)
        #expect(try store.createAPIKey(name: "ops", keySHA256: other, role: .admin, nowMs: 12))
        #expect(try store.hasAPIKeys())
        #expect(
            try store.apiKey(keySHA256: digest) == APIKeyRecord(name: "ci", role: .user, createdMs: 10, lastUsedMs: nil)
        )
        #expect(try store.apiKey(keySHA256: String(repeating: "3", count: 64)) == nil)
        try store.touchAPIKey(name: "ci", nowMs: 50)
        #expect(try store.listAPIKeys().map(\.name) == ["ci", "ops"])
        #expect(try store.listAPIKeys().first?.lastUsedMs == 50)

        let token = String(repeating: "a", count: 64), token2 = String(repeating: "b", count: 64)
        try store.createSession(tokenSHA256: token, principal: "ci", role: .user, nowMs: 100, expiresMs: 200)
        try store.createSession(tokenSHA256: token2, principal: "ops", role: .admin, nowMs: 100, expiresMs: 1_000)
        #expect(
            try store.session(tokenSHA256: token, nowMs: 150)
                == SessionRecord(principal: "ci", role: .user, createdMs: 100, expiresMs: 200))
        #expect(try store.session(tokenSHA256: token, nowMs: 200) == nil)  // expired
        #expect(try store.purgeExpiredSessions(nowMs: 300) == 1)
        try store.createSession(tokenSHA256: token, principal: "ci", role: .user, nowMs: 300, expiresMs: 900)
        #expect(try store.revokeAPIKey(name: "ci"))
        #expect(try store.apiKey(keySHA256: digest) == nil)
        #expect(try store.session(tokenSHA256: token, nowMs: 400) == nil)  // revoking ended it
        #expect(try store.revokeAPIKey(name: "ci") == false)
        #expect(try store.session(tokenSHA256: token2, nowMs: 400)?.principal == "ops")
        #expect(try store.deleteSession(tokenSHA256: token2))
        #expect(try store.session(tokenSHA256: token2, nowMs: 400) == nil)
    }

    @Test(
        "Migration 0003 keeps a version-2 database's rows, their data set references and keys, as the anonymous principal's"
    )
    func migrationKeepsLegacyRows() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-tenants")
        let path = directory.file("old.db")
        do {
            let database = try SQLiteConnection(path: path)
            try database.execute("PRAGMA foreign_keys = ON")
            try SQLiteMigrator(migrations: Array(Migration.embedded(for: .sqlite).prefix(2))).migrate(
                database, nowMs: 1)
            try database.execute(
                """
                INSERT INTO datasets (id, name, rows, features, classes, sha256, content, created_ms)
                  VALUES ('d1', 'old', 2, 1, 2, '\(String(repeating: "c", count: 64))', x'01', 5);
                INSERT INTO jobs (id, name, status, spec_json, dataset_id, created_ms, progress_total)
                  VALUES ('j1', 'old job', 'queued', '{}', 'd1', 6, 3);
                INSERT INTO idempotency_keys (key, request_sha256, job_id, created_ms) VALUES ('k', 'h', 'j1', 6);
                """)
        }
        let store = try SQLiteStore(path: path, nowMs: 10)
        defer { try? store.close() }
        #expect(store.schemaVersion >= 3)
        let job = try #require(try store.job(id: "j1"))
        #expect(job.datasetID == "d1" && job.owner == Principal.anonymous)
        #expect(try store.dataset(id: "d1")?.owner == Principal.anonymous)
        #expect(try store.listDatasets(owner: "bob").isEmpty)
        let replay = try store.insertJob(
            NewJob(id: "j2", name: "n", specJSON: "{}", progressTotal: 3), idempotency: (key: "k", requestSHA256: "h"),
            maxQueued: 10, nowMs: 20)
        #expect(replay == .replayed(job))
        // The data set is still referenced: deleting it while the job is queued is refused.
        #expect(try store.deleteDataset(id: "d1") == .inUse)
    }
}
