import RewindTestSupport
import Testing

@testable import Storage

@Suite("SQLite connection")
struct SQLiteConnectionTests {
    let directory: TemporaryDirectory
    let database: SQLiteConnection

    init() throws {
        directory = try TemporaryDirectory(prefix: "rewind-db")
        database = try SQLiteConnection(path: directory.file("test.db"))
        try database.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n INTEGER) STRICT")
    }

    @Test("Every bound type reads back unchanged, NUL bytes and empty blobs included")
    func bindsRoundTrip() throws {
        try database.run(
            "INSERT INTO t VALUES (:i, :r, :s, :b, :n)",
            [
                ":i": .integer(Int64.min), ":r": .real(-0.1), ":s": .text("a\u{0}b é"),
                ":b": .blob([0, 255, 7]), ":n": .null,
            ])
        try database.run("INSERT INTO t VALUES (1, 2.5, '', :b, 3)", [":b": .blob([])])
        let rows = try database.query("SELECT i, r, s, b, n FROM t ORDER BY rowid") {
            (
                i: $0.int64(0), r: $0.double(1), s: $0.string(2), b: $0.blob(3), n: $0.optionalInt64(4),
                bIsNull: $0.isNull(3)
            )
        }
        #expect(rows.count == 2)
        #expect(rows[0].i == Int64.min && rows[0].r == -0.1 && rows[0].s == "a\u{0}b é")
        #expect(rows[0].b == [0, 255, 7] && rows[0].n == nil)
        #expect(rows[1].b == [] && !rows[1].bIsNull && rows[1].n == 3)
    }

    @Test("A transaction that throws is rolled back and one that returns is committed")
    func transactionRollsBackOnThrow() throws {
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try database.transaction {
                try database.run("INSERT INTO t (i) VALUES (1)")
                throw Boom()
            }
        }
        #expect(!database.isInTransaction)
        try database.transaction { try database.run("INSERT INTO t (i) VALUES (2)") }
        #expect(try database.query("SELECT i FROM t") { $0.int(0) } == [2])
    }

    @Test("A failing statement throws its codes and SQL but not the bound values")
    func errorsCarrySQLNotValues() throws {
        try database.execute("CREATE TABLE u (x TEXT NOT NULL CHECK (length(x) < 3)) STRICT")
        let secret = "do-not-log-me"
        let sql = "INSERT INTO u (x) VALUES (:x)"
        do {
            try database.run(sql, [":x": .text(secret)])
            Issue.record("the CHECK constraint should have refused the row")
        } catch let error as SQLiteError {
            #expect(error.code == 19)  // SQLITE_CONSTRAINT
            #expect(error.extendedCode == 275)  // SQLITE_CONSTRAINT_CHECK
            #expect(error.isConstraintViolation)
            #expect(error.sql == sql)
            #expect(!error.description.contains(secret))
        }
    }

    @Test("A commit blocked by another writer throws, rolls back and leaves nothing behind")
    func failedCommitIsReported() throws {
        let writer = try SQLiteConnection(path: directory.file("test.db"), busyTimeoutMs: 0)
        let other = try SQLiteConnection(path: directory.file("test.db"), busyTimeoutMs: 0)
        // A reader holding a snapshot in rollback-journal mode blocks the writer's COMMIT.
        try other.execute("BEGIN; SELECT count(*) FROM t;")
        let error = #expect(throws: SQLiteError.self) {
            try writer.transaction(.deferred) { try writer.run("INSERT INTO t (i) VALUES (9)") }
        }
        #expect(error?.sql == "COMMIT")
        #expect(!writer.isInTransaction)
        #expect(error?.isBusy == true)
        try other.execute("COMMIT")
        #expect(!database.isInTransaction)
        #expect(try database.query("SELECT count(*) FROM t") { $0.int(0) } == [0])
    }

    @Test("A script runs every statement and reports the one that fails")
    func executeRunsScripts() throws {
        try database.execute("INSERT INTO t (i) VALUES (1); -- one\nINSERT INTO t (i) VALUES (2); /* end */")
        #expect(try database.query("SELECT count(*) FROM t") { $0.int(0) } == [2])
        let error = #expect(throws: SQLiteError.self) {
            try database.execute("INSERT INTO t (i) VALUES (3); INSERT INTO nowhere VALUES (1);")
        }
        #expect(error?.sql?.contains("nowhere") == true)
    }

    @Test("A parameter the call leaves out is an error, not a silent NULL, and nothing is written")
    func missingParameterThrows() throws {
        let sql = "INSERT INTO t (i, s) VALUES (:i, :s)"
        #expect(throws: MissingSQLParameter(name: ":s", sql: sql)) { try database.run(sql, [":i": .integer(1)]) }
        try database.run(sql, [":i": .integer(2), ":s": .null])
        #expect(try database.query("SELECT i, s FROM t") { ($0.int("i"), $0.optionalString("s")) }.map(\.0) == [2])
    }

    @Test("Columns are read by name, whatever their position, aliases included")
    func columnsByName() throws {
        try database.run("INSERT INTO t (i, r, s) VALUES (7, 0.5, 'x')")
        let row = try database.queryFirst("SELECT s, r, i * 2 AS doubled FROM t") {
            (doubled: $0.int("doubled"), r: $0.double("r"), s: $0.string("s"), n: $0.column("s"))
        }
        #expect(row?.doubled == 14 && row?.r == 0.5 && row?.s == "x" && row?.n == 0)
    }
}
