/// Applies migrations in order, each in its own `BEGIN IMMEDIATE` transaction together with its
/// bookkeeping row, so a crash leaves the schema at a whole version.
///
/// The bookkeeping table is the migrator's own (it must exist before migration 1 can be
/// recorded); every other table is written by the migration files alone.
public struct SQLiteMigrator: Sendable {
    /// The migrations this migrator knows, in version order.
    public let migrations: [Migration]

    static let createBookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY NOT NULL,
          name TEXT NOT NULL,
          checksum TEXT NOT NULL,
          applied_ms INTEGER NOT NULL
        ) STRICT
        """
    static let selectApplied = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    static let selectOne = "SELECT checksum FROM schema_migrations WHERE version = :version"
    static let insertApplied = """
        INSERT INTO schema_migrations (version, name, checksum, applied_ms)
        VALUES (:version, :name, :checksum, :applied_ms)
        """

    /// A migrator over `migrations`, which must be numbered 1, 2, 3, ... in order.
    public init(migrations: [Migration] = Migration.embedded(for: .sqlite)) {
        for (index, migration) in migrations.enumerated() {
            precondition(migration.version == index + 1, "migration versions must run 1, 2, 3, ...")
        }
        self.migrations = migrations
    }

    /// The highest version this migrator can bring a database to.
    public var codeVersion: Int { migrations.count }

    /// The migrations `database` still lacks, after checking the applied ones.
    public func pending(in database: SQLiteConnection) throws -> [Migration] {
        let applied = try verifyApplied(in: database)
        return Array(migrations.dropFirst(applied))
    }

    /// Brings `database` to `codeVersion`, answering the migrations it applied.
    @discardableResult
    public func migrate(_ database: SQLiteConnection, nowMs: Int64) throws -> [Migration] {
        try database.transaction(.immediate) { try database.execute(Self.createBookkeeping) }
        var applied: [Migration] = []
        for migration in try pending(in: database) {
            let didApply = try database.transaction(.immediate) { () throws -> Bool in
                // Another process may have applied it since we looked: the write lock settles it.
                let recorded = try database.queryFirst(
                    Self.selectOne, [":version": .integer(migration.version)]
                ) { $0.string("checksum") }
                if let recorded {
                    try check(migration, recorded: recorded)
                    return false
                }
                try database.execute(migration.sql)
                try database.run(
                    Self.insertApplied,
                    [
                        ":version": .integer(migration.version), ":name": .text(migration.name),
                        ":checksum": .text(migration.checksum), ":applied_ms": .integer(nowMs),
                    ])
                // Mirrors the version for tools such as the sqlite3 shell; atomic with the rest.
                try database.execute("PRAGMA user_version = \(migration.version)")
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    /// Checks the recorded migrations against this build; answers how many are applied.
    private func verifyApplied(in database: SQLiteConnection) throws -> Int {
        let exists =
            try database.queryFirst(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"
            ) { _ in true } ?? false
        guard exists else { return 0 }
        let rows = try database.query(Self.selectApplied) {
            (version: $0.int("version"), name: $0.string("name"), checksum: $0.string("checksum"))
        }
        try check(applied: rows.map { ($0.version, $0.checksum) })
        return rows.count
    }

    /// Checks bookkeeping rows (any engine's) against this build: refuses a database migrated by
    /// a newer build, or one whose applied migrations were edited since.
    func check(applied rows: [(version: Int, checksum: String)]) throws {
        if let newest = rows.last, newest.version > codeVersion {
            throw MigrationError.databaseNewerThanCode(
                databaseVersion: newest.version, codeVersion: codeVersion)
        }
        for row in rows {
            try check(migrations[row.version - 1], recorded: row.checksum)
        }
    }

    func check(_ migration: Migration, recorded: String) throws {
        guard recorded == migration.checksum else {
            throw MigrationError.checksumMismatch(
                version: migration.version, name: migration.name, recorded: recorded,
                embedded: migration.checksum)
        }
    }
}
