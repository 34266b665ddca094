import RewindTestSupport
import Testing

@testable import Storage

/// Issue 15, points 6 and 8 in storage: a key's principal is its immutable id, sessions belong to
/// their key, and one owner's queued and running jobs are capped in the insert's transaction.
@Suite("Store: key principals, sessions bound to keys, per-owner job caps")
struct StoreKeyPrincipalTests {
    private static let digest = String(repeating: "1", count: 64)
    private static let revokedDigest = String(repeating: "2", count: 64)

    @Test(
        "A stored key's session is stored only while the key exists, and ends with it", arguments: StoreFixture.engines)
    func sessionsBelongToTheirKey(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        let token = String(repeating: "a", count: 64), late = String(repeating: "b", count: 64)
        #expect(try store.createAPIKey(name: "carol", keySHA256: Self.digest, role: .user, nowMs: 10))
        #expect(
            try store.createSession(
                tokenSHA256: token, principal: "carol", keySHA256: Self.digest, role: .user, nowMs: 100,
                expiresMs: 1_000))
        #expect(try store.session(tokenSHA256: token, nowMs: 150)?.keySHA256 == Self.digest)
        #expect(try store.revokeAPIKey(name: "carol"))
        #expect(try store.session(tokenSHA256: token, nowMs: 150) == nil)
        // A sign-in that checked the key before the revocation inserts nothing after it.
        #expect(
            try store.createSession(
                tokenSHA256: late, principal: "carol", keySHA256: Self.digest, role: .user, nowMs: 200, expiresMs: 1_000
            ) == false)
        #expect(try store.session(tokenSHA256: late, nowMs: 250) == nil)
        // The same name created again is another key: the old key's digest signs nothing in.
        #expect(try store.createAPIKey(name: "carol", keySHA256: Self.revokedDigest, role: .user, nowMs: 300))
        #expect(
            try store.createSession(
                tokenSHA256: late, principal: "carol", keySHA256: Self.digest, role: .user, nowMs: 310, expiresMs: 1_000
            ) == false)
    }

    @Test(
        "An owner's queued and running jobs are capped; other owners and uncapped submissions are not",
        arguments: StoreFixture.engines)
    func perOwnerCap(_ engine: StoreEngine) throws {
        let fixture = try StoreFixture(engine), store = fixture.store
        func submit(_ id: String, _ owner: String, cap: Int?) throws -> InsertJobOutcome {
            try store.insertJob(
                NewJob(id: id, name: "n", specJSON: "{}", progressTotal: 3, owner: owner, maxActiveForOwner: cap),
                idempotency: nil, maxQueued: 100, nowMs: 1_000)
        }
        for index in 0..<3 {
            guard case .created = try submit("a\(index)", "key:a", cap: 3) else { Issue.record("a\(index)"); return }
        }
        #expect(try submit("a3", "key:a", cap: 3) == .ownerLimitReached(active: 3))
        // Running jobs count too; finished ones do not.
        let claimed = try #require(try store.claimJob(worker: "w", nowMs: 1_001, leaseMs: 60_000))
        #expect(try submit("a4", "key:a", cap: 3) == .ownerLimitReached(active: 3))
        _ = try store.requestCancel(jobID: claimed.job.id == "a0" ? "a1" : "a0", nowMs: 1_002)
        guard case .created = try submit("a5", "key:a", cap: 3) else { Issue.record("a5 after a cancel"); return }
        guard case .created = try submit("b0", "key:b", cap: 3) else { Issue.record("b0"); return }
        guard case .created = try submit("a6", "key:a", cap: nil) else { Issue.record("a6 uncapped"); return }
    }

    @Test(
        "Migration 0006 moves owners from key names to key ids, binds sessions to keys, ends orphaned ones",
        arguments: StoreFixture.engines)
    func migrationMovesOwnersToKeyIDs(_ engine: StoreEngine) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-principals")
        var postgresDatabase: String?
        defer { if let postgresDatabase { PostgresCluster.shared?.dropDatabase(postgresDatabase) } }
        func open(migrations: Int?) throws -> Store {
            switch engine {
            case .sqlite:
                let all = Migration.embedded(for: .sqlite)
                return try SQLiteStore(
                    path: directory.file("old.db"),
                    migrator: SQLiteMigrator(migrations: Array(all.prefix(migrations ?? all.count))),
                    nowMs: 1_000)
            case .postgresql:
                let cluster = try StoreFixture.cluster()
                if postgresDatabase == nil { postgresDatabase = try cluster.createDatabase() }
                let all = Migration.embedded(for: .postgresql)
                return try PostgresStore(
                    url: cluster.url(database: postgresDatabase!), poolSize: 1, timeSource: .caller,
                    migrations: Array(all.prefix(migrations ?? all.count)), nowMs: 1_000)
            }
        }
        do {
            let old = try open(migrations: 5)
            defer { try? old.close() }
            #expect(try old.createAPIKey(name: "alice", keySHA256: Self.digest, role: .user, nowMs: 1))
            // Written as schema 5 had them: today's statements name columns later migrations add.
            switch old {
            case let sqlite as SQLiteStore: try Self.insertSchema5Rows(sqlite)
            case let postgres as PostgresStore: try Self.insertSchema5Rows(postgres)
            default: Issue.record("an engine this test does not know")
            }
            try old.createSession(
                tokenSHA256: String(repeating: "a", count: 64), principal: "alice", role: .user, nowMs: 5,
                expiresMs: 10_000)
            // bob's key was revoked while a sign-in raced it: the session outlived the key.
            try old.createSession(
                tokenSHA256: String(repeating: "b", count: 64), principal: "bob", role: .user, nowMs: 5,
                expiresMs: 10_000)
        }
        let store = try open(migrations: nil)
        defer { try? store.close() }
        let alice = Principal.ofKey(sha256: Self.digest)
        #expect(alice == "key:1111111111111111")
        #expect(try store.job(id: "j1")?.owner == alice)
        #expect(try store.job(id: "j2")?.owner == "bob")  // no key has that name: admins only
        #expect(try store.dataset(id: "d1")?.owner == alice)
        #expect(try store.listJobs(owner: alice, limit: 10).jobs.map(\.id) == ["j1"])
        #expect(try store.listJobs(owner: "alice", limit: 10).jobs.isEmpty)
        // The idempotency key moved with its owner.
        let replay = try store.insertJob(
            NewJob(id: "j3", name: "n", specJSON: "{}", progressTotal: 3, owner: alice),
            idempotency: (key: "k", requestSHA256: "h"),
            maxQueued: 10, nowMs: 20)
        guard case .replayed(let job) = replay else { Issue.record("\(replay)"); return }
        #expect(job.id == "j1")
        #expect(try store.session(tokenSHA256: String(repeating: "a", count: 64), nowMs: 6)?.keySHA256 == Self.digest)
        #expect(try store.session(tokenSHA256: String(repeating: "b", count: 64), nowMs: 6) == nil)
    }

    /// A data set row in the columns schema 5 had, owned by the key name "alice".
    /// Jobs j1 (alice's, with idempotency key "k") and j2 (bob's), and data set d1 (alice's), in the
    /// columns schema 5 had.
    static func insertSchema5Rows<S: SQLStore>(_ store: S) throws where S.Connection.Statement: SQLStatementText {
        try store.write { connection in
            for (id, owner, created) in [("j1", "alice", 2), ("j2", "bob", 3)] {
                _ = try connection.run(
                    S.Connection.Statement(
                        sql: """
                            INSERT INTO jobs (id, name, status, spec_json, priority, created_ms, progress_total,
                                              max_attempts, owner)
                            VALUES (:id, 'n', 'queued', '{}', 0, :created, 3, 3, :owner)
                            """),
                    [":id": .text(id), ":created": .integer(Int64(created)), ":owner": .text(owner)])
            }
            _ = try connection.run(
                S.Connection.Statement(
                    sql: """
                        INSERT INTO idempotency_keys (owner, key, request_sha256, job_id, created_ms)
                        VALUES ('alice', 'k', 'h', 'j1', 2)
                        """),
                [:])
            _ = try connection.run(
                S.Connection.Statement(
                    sql: """
                        INSERT INTO datasets (id, name, rows, features, classes, sha256, content, created_ms, owner)
                        VALUES (:id, 'x', 2, 1, 2, :sha256, :content, 4, 'alice')
                        """),
                [":id": .text("d1"), ":sha256": .text(String(repeating: "c", count: 64)), ":content": .blob([1])])
        }
    }
}
