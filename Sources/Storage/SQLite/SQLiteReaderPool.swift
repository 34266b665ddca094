import Dispatch
import Synchronization

/// A fixed set of read-only connections lent out one borrower at a time.
///
/// In WAL mode readers never block the writer nor each other, so HTTP reads do not queue behind
/// the writer's transactions.
final class SQLiteReaderPool: Sendable {
    /// A connection that the pool hands to one borrower at a time; never shared concurrently.
    private final class Reader: @unchecked Sendable {
        let database: SQLiteConnection
        init(database: SQLiteConnection) { self.database = database }
    }

    private struct State {
        var idle: [Reader]
        var isClosed = false
    }

    private let count: Int
    private let available: DispatchSemaphore
    private let state: Mutex<State>

    init(path: String, count: Int) throws {
        precondition(count > 0, "a reader pool needs at least one connection")
        var readers: [Reader] = []
        for _ in 0..<count {
            let database = try SQLiteConnection(path: path)
            try database.execute(SQLiteSQL.Connection.setUp)
            try database.execute(SQLiteSQL.Connection.queryOnly)
            readers.append(Reader(database: database))
        }
        self.count = count
        self.available = DispatchSemaphore(value: count)
        self.state = Mutex(State(idle: readers))
    }

    /// Runs `body` on an idle connection inside a read transaction, waiting for one if needed.
    func withReader<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        guard let reader = state.withLock({ $0.isClosed ? nil : $0.idle.popLast() }) else {
            throw StoreError.closed
        }
        defer { state.withLock { $0.idle.append(reader) } }
        // One snapshot for every statement of the read.
        return try reader.database.transaction(.deferred) { try body(reader.database) }
    }

    /// Waits for every borrowed connection to come back, then closes them all.
    func close() throws {
        let wasClosed = state.withLock { state in
            defer { state.isClosed = true }
            return state.isClosed
        }
        guard !wasClosed else { return }
        for _ in 0..<count { available.wait() }
        let readers = state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        for reader in readers { try reader.database.close() }
        for _ in 0..<count { available.signal() }
    }
}
