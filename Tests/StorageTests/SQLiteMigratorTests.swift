import Foundation
import RewindTestSupport
import Testing

@testable import Storage

@Suite("SQLite migrator")
struct SQLiteMigratorTests {
    let directory: TemporaryDirectory
    let database: SQLiteConnection

    static let first = Migration(version: 1, name: "first", checksum: "c1", sql: "CREATE TABLE a (x INTEGER) STRICT;")
    static let second = Migration(version: 2, name: "second", checksum: "c2", sql: "CREATE TABLE b (y TEXT) STRICT;")

    init() throws {
        directory = try TemporaryDirectory(prefix: "rewind-migrator")
        database = try SQLiteConnection(path: directory.file("m.db"))
    }

    private func tables() throws -> [String] {
        try database.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") { $0.string(0) }
    }

    @Test("A fresh database gets every migration, each with its bookkeeping row")
    func freshDatabase() throws {
        let applied = try SQLiteMigrator(migrations: [Self.first, Self.second]).migrate(database, nowMs: 42)
        #expect(applied.map(\.version) == [1, 2])
        #expect(try tables() == ["a", "b", "schema_migrations"])
        let rows = try database.query(
            "SELECT version, name, checksum, applied_ms FROM schema_migrations ORDER BY version"
        ) {
            "\($0.int(0)) \($0.string(1)) \($0.string(2)) \($0.int64(3))"
        }
        #expect(rows == ["1 first c1 42", "2 second c2 42"])
        #expect(try database.queryFirst("PRAGMA user_version") { $0.int(0) } == 2)
    }

    @Test("Running the migrator again applies nothing")
    func rerunIsNoOp() throws {
        let migrator = SQLiteMigrator(migrations: [Self.first, Self.second])
        try migrator.migrate(database, nowMs: 1)
        #expect(try migrator.migrate(database, nowMs: 2).isEmpty)
        #expect(try migrator.pending(in: database).isEmpty)
        #expect(try database.query("SELECT applied_ms FROM schema_migrations") { $0.int64(0) } == [1, 1])
    }

    @Test("An older database gets only the newer migrations")
    func upgradeAppliesPending() throws {
        try SQLiteMigrator(migrations: [Self.first]).migrate(database, nowMs: 1)
        let migrator = SQLiteMigrator(migrations: [Self.first, Self.second])
        #expect(try migrator.pending(in: database).map(\.version) == [2])
        #expect(try migrator.migrate(database, nowMs: 2).map(\.version) == [2])
    }

    @Test("An applied migration whose checksum changed is refused, naming it")
    func editedMigrationRefused() throws {
        try SQLiteMigrator(migrations: [Self.first]).migrate(database, nowMs: 1)
        let edited = Migration(version: 1, name: "first", checksum: "c1-edited", sql: Self.first.sql)
        let error = #expect(throws: MigrationError.self) {
            try SQLiteMigrator(migrations: [edited, Self.second]).migrate(database, nowMs: 2)
        }
        #expect(error == .checksumMismatch(version: 1, name: "first", recorded: "c1", embedded: "c1-edited"))
        #expect(error?.description.contains("never be edited") == true)
        #expect(try !tables().contains("b"))
    }

    @Test("A database newer than the code is refused, naming both versions")
    func newerDatabaseRefused() throws {
        try SQLiteMigrator(migrations: [Self.first, Self.second]).migrate(database, nowMs: 1)
        let error = #expect(throws: MigrationError.self) {
            try SQLiteMigrator(migrations: [Self.first]).migrate(database, nowMs: 2)
        }
        #expect(error == .databaseNewerThanCode(databaseVersion: 2, codeVersion: 1))
        #expect(error?.description.contains("version 2") == true)
        #expect(error?.description.contains("version 1") == true)
    }

    @Test("A failing migration leaves the schema at the last whole version")
    func failingMigrationRollsBack() throws {
        let broken = Migration(
            version: 2, name: "broken", checksum: "c2",
            sql: "CREATE TABLE b (y TEXT) STRICT; INSERT INTO missing VALUES (1);")
        #expect(throws: SQLiteError.self) {
            try SQLiteMigrator(migrations: [Self.first, broken]).migrate(database, nowMs: 1)
        }
        #expect(try tables() == ["a", "schema_migrations"])
        #expect(try database.query("SELECT version FROM schema_migrations") { $0.int(0) } == [1])
    }

    @Test(
        "The embedded migrations match migrations/<engine>/*.sql byte for byte, checksums included",
        arguments: StoreEngine.allCases)
    func embeddedMigrationsAreCurrent(_ engine: StoreEngine) throws {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = packageRoot.appendingPathComponent("migrations").appendingPathComponent(engine.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        let embedded = Migration.embedded(for: engine)
        #expect(files.count == embedded.count && !files.isEmpty)
        for (file, migration) in zip(files, embedded) {
            let path = directory.appendingPathComponent(file).path
            #expect(file == String(format: "%04d_%@.sql", migration.version, migration.name))
            #expect(try String(contentsOfFile: path, encoding: .utf8) == migration.sql)
            #expect(try Self.sha256sum(path) == migration.checksum)
        }
    }

    @Test("Both engines carry the same migrations, by number and name")
    func enginesPairUp() {
        let sqlite = Migration.embedded(for: .sqlite).map { "\($0.version) \($0.name)" }
        let postgresql = Migration.embedded(for: .postgresql).map { "\($0.version) \($0.name)" }
        #expect(sqlite == postgresql)
    }

    /// The system's `sha256sum`, an independent check of the embedder's SHA-256.
    private static func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
