/// Applies the PostgreSQL migrations: the same numbering and checksum bookkeeping as the SQLite
/// engine's `SQLiteMigrator`, but every pending migration in ONE transaction that first takes an
/// advisory lock, so that nodes starting at once queue behind each other and each migration is
/// applied exactly once (PostgreSQL's DDL is transactional: a failure leaves nothing behind).
struct PostgresMigrator {
    let migrator: SQLiteMigrator

    init(migrations: [Migration] = Migration.embedded(for: .postgresql)) {
        migrator = SQLiteMigrator(migrations: migrations)
    }

    var codeVersion: Int { migrator.codeVersion }

    /// Brings the database to `codeVersion`, answering the migrations it applied.
    @discardableResult
    func migrate(_ pool: PostgresConnectionPool, nowMs: Int64) throws -> [Migration] {
        try pool.transaction { connection in
            try connection.execute(PostgresSQL.Migrations.lock)
            // Only when missing: an up-to-date database then needs no DDL at all, so a node can
            // still start against one that only accepts reads (it reports itself not ready).
            let exists =
                try connection.queryFirst(PostgresSQL.Migrations.bookkeepingExists) { $0.bool("present") } ?? false
            if !exists { try connection.execute(PostgresSQL.Migrations.createBookkeeping) }
            let rows = try connection.query(PostgresSQL.Migrations.selectApplied) {
                (version: $0.int("version"), checksum: $0.string("checksum"))
            }
            try migrator.check(applied: rows)
            let pending = Array(migrator.migrations.dropFirst(rows.count))
            for migration in pending {
                try connection.execute(migration.sql)
                try connection.run(
                    PostgresSQL.Migrations.insertApplied,
                    [
                        ":version": .integer(migration.version), ":name": .text(migration.name),
                        ":checksum": .text(migration.checksum), ":applied_ms": .integer(nowMs),
                    ])
            }
            return pending
        }
    }
}
