import Dispatch
import Foundation
import Synchronization

/// The SQLite engine of `Store`: one file in WAL mode, on one machine (the embedded default).
///
/// Writes go through one connection owned by a serial queue, each in a `BEGIN IMMEDIATE`
/// transaction, so writers in this process never contend; reads go through a small pool of
/// `query_only` connections. Several stores (or processes on one host) may open the same file:
/// claims and leases are guarded in SQL, and `busy_timeout` absorbs the lock waits.
///
/// Every method is synchronous and may be called from any thread. Times are passed in as
/// milliseconds so tests control the clock. Storage knows nothing of tuning: specs, history
/// items and checkpoints are opaque.
public final class SQLiteStore: SQLStore {
    typealias SQL = SQLiteSQL

    /// The database file.
    public let path: String
    public var engine: StoreEngine { .sqlite }
    /// The schema version after migration.
    public let schemaVersion: Int

    /// The writer connection, touched only on `writerQueue`.
    private final class Writer: @unchecked Sendable {
        var database: SQLiteConnection?
        init(database: SQLiteConnection) { self.database = database }
    }

    private let writer: Writer
    private let writerQueue = DispatchQueue(label: "rewind.storage.writer")
    private let readers: SQLiteReaderPool
    private let busyErrors = Atomic<Int>(0)
    /// Device and inode of the file as opened: a file deleted or replaced under a running service
    /// would otherwise swallow every later write silently (the connection keeps the old inode).
    private let fileIdentity: FileIdentity?
    private let fileLost = Atomic<Bool>(false)
    /// What this node knows about the database (fed by every read and write and by a probe).
    public let health: DatabaseHealth

    /// Opens (creating if needed) the database at `path`, checks it and applies pending migrations.
    ///
    /// - Throws: `StoreError.integrityCheckFailed` for a damaged file, `MigrationError` for a schema
    ///   this build cannot run against, `SQLiteError` when SQLite fails.
    public init(
        path: String, readerCount: Int = 2, migrator: SQLiteMigrator = SQLiteMigrator(),
        health: DatabaseHealth = DatabaseHealth(), nowMs: Int64
    ) throws {
        let database = try SQLiteConnection(path: path)
        let journalMode = try database.queryFirst(SQLiteSQL.Connection.journalModeWAL) { $0.string(0) }
        guard journalMode == "wal" else {
            throw StoreError.walUnavailable(path: path, journalMode: journalMode ?? "unknown")
        }
        try database.execute(SQLiteSQL.Connection.setUp)
        let problems = try database.query(SQLiteSQL.Connection.quickCheck) { $0.string(0) }
        guard problems == ["ok"] else {
            throw StoreError.integrityCheckFailed(path: path, details: problems.joined(separator: "; "))
        }
        try migrator.migrate(database, nowMs: nowMs)
        self.path = path
        self.schemaVersion = migrator.codeVersion
        self.writer = Writer(database: database)
        self.readers = try SQLiteReaderPool(path: path, count: readerCount)
        self.fileIdentity = FileIdentity(path: path)
        self.health = health
        health.markUp()
        health.startMonitoring { [weak self] in
            guard let self else { return nil }
            do {
                try self.write { database in try database.execute(HealthProbeSQL.sqlite) }
                return .some(nil)
            } catch {
                return .some(error)
            }
        }
    }

    /// Closes the readers, then checkpoints the WAL into the main file and closes the writer, so a
    /// cleanly stopped service leaves one self-contained file. Later calls throw `StoreError.closed`.
    public func close() throws {
        health.stopMonitoring()
        try readers.close()
        try writerQueue.sync {
            guard let database = writer.database else { return }
            writer.database = nil
            try database.execute(SQLiteSQL.Connection.optimize)
            try database.execute(SQLiteSQL.Connection.checkpointTruncate)
            try database.close()
        }
    }

    /// How many operations failed with `SQLITE_BUSY`/`SQLITE_LOCKED` after the busy timeout.
    public var busyErrorCount: Int { busyErrors.load(ordering: .relaxed) }

    public func checkWritable() throws {
        try write { _ in }
    }

    /// Throws once the file at `path` is no longer the one this store opened (deleted, renamed
    /// away or replaced). One `stat` per write: far cheaper than the transaction it guards.
    private func verifyFile() throws {
        guard let fileIdentity, !path.isEmpty, path != ":memory:" else { return }
        guard FileIdentity(path: path) == fileIdentity else {
            fileLost.store(true, ordering: .relaxed)
            throw StoreError.databaseFileGone(path: path)
        }
    }

    /// True once a write found the database file deleted or replaced.
    public var isFileLost: Bool { fileLost.load(ordering: .relaxed) }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction on the writer connection.
    func write<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try countingBusy {
            try verifyFile()
            return try writerQueue.sync {
                guard let database = writer.database else { throw StoreError.closed }
                return try database.transaction(.immediate) { try body(database) }
            }
        }
    }

    /// Runs `body` in a read transaction on a pooled read-only connection.
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try countingBusy { try readers.withReader(body) }
    }

    /// Counts busy errors and tells the node's health what the connection saw.
    private func countingBusy<T>(_ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            health.recordGoodQuery()
            return result
        } catch {
            if let error = error as? SQLiteError, error.isBusy { busyErrors.add(1, ordering: .relaxed) }
            health.record(error)
            throw error
        }
    }

    /// One statement alone is still a `BEGIN IMMEDIATE` transaction: the lock waits where the
    /// busy timeout applies, and the file check runs.
    func writeOne<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try write(body)
    }

    /// Times are the caller's: one machine, one clock.
    func now(_ nowMs: Int64) -> SQLValue { .integer(nowMs) }

    /// A failed COMMIT is reported, never retried: a write runs once.
    static var writesMayRepeat: Bool { false }
}

/// Which file a path names right now: its device and inode.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// Nil when nothing is at `path`.
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}
