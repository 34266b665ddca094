import CPostgreSQL
import Foundation

/// One libpq connection: the PostgreSQL engine's `SQLConnection`. Not `Sendable`: a connection
/// belongs to one borrower of the pool at a time (libpq connections are safe across threads, but
/// not for concurrent use).
///
/// Statements go out with `PQexecParams`: parameters as text (blobs as binary `bytea`), results
/// as text, decoded by `PostgresRow`.
final class PostgresConnection: SQLConnection {
    let handle: OpaquePointer
    /// The name each statement text was prepared under on this connection (`PQprepare` once,
    /// then only `PQexecPrepared`: no parsing or planning per call).
    private var prepared: [String: String] = [:]

    /// Connects with libpq's keyword/value parameters, in order; a later keyword overrides an
    /// earlier one, and a `dbname` holding a URL or a `key=value` string is expanded in place.
    /// Whatever the parameters leave out comes from the usual `PG*` environment variables.
    init(parameters: [(String, String)]) throws {
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers = keywords.map { UnsafePointer($0) } + [nil]
        var valuePointers = values.map { UnsafePointer($0) } + [nil]
        guard let connection = PQconnectdbParams(&keywordPointers, &valuePointers, 1) else {
            throw PostgresError(sqlState: nil, message: "out of memory", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(sqlState: nil, message: message, connectFailed: true)
        }
        handle = connection
        // Server notices (for example "already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// False once the connection broke (server restart, network): the pool replaces it.
    var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True while a transaction is open (or failed and not yet rolled back) on this connection.
    var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// The server's process id for this session (what `pg_terminate_backend` takes).
    var backendPID: Int32 { PQbackendPID(handle) }

    /// Runs one or more statements without parameters (a migration, `BEGIN`, `COMMIT`).
    func execute(_ script: String) throws {
        let result = PQexec(handle, script)
        defer { PQclear(result) }
        try check(result, sql: script)
    }

    /// Runs a statement that returns no rows of interest; answers the number of rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery, _ arguments: SQLArguments = [:]) throws -> Int {
        try send(query, arguments) { result in Int(String(cString: PQcmdTuples(result))) ?? 0 }
    }

    /// Runs a query and decodes every row.
    func query<T>(
        _ query: PostgresQuery, _ arguments: SQLArguments = [:], _ decode: (PostgresRow) throws -> T
    ) throws -> [T] {
        try send(query, arguments) { result in
            let count = PQntuples(result)
            let columns = SQLColumns((0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) })
            var rows: [T] = []
            rows.reserveCapacity(Int(count))
            for index in 0..<count {
                rows.append(try decode(PostgresRow(result: result, index: index, columns: columns)))
            }
            return rows
        }
    }

    /// Runs a query and decodes its first row, if any.
    func queryFirst<T>(
        _ query: PostgresQuery, _ arguments: SQLArguments = [:], _ decode: (PostgresRow) throws -> T
    ) throws -> T? {
        try self.query(query, arguments, decode).first
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; rolled back (while the connection lives) if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isHealthy, isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    private func send<T>(
        _ query: PostgresQuery, _ arguments: SQLArguments, _ read: (OpaquePointer) throws -> T
    ) throws -> T {
        let values = try query.values(arguments)
        // Every value becomes C memory that lives until the call returns.
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var types: [Oid] = []
        defer { buffers.forEach { free($0) } }
        for value in values {
            switch value {
            case .null:
                buffers.append(nil); lengths.append(0); formats.append(0); types.append(0)
            case .integer(let integer):
                buffers.append(try Self.copy(Array(String(integer).utf8), sql: query.sql, terminated: true))
                lengths.append(0); formats.append(0); types.append(0)
            case .real(let real):
                // NaN is stored as NULL, as SQLite does, so both engines read back the same thing.
                let text: String? =
                    real.isNaN ? nil : real.isInfinite ? (real > 0 ? "Infinity" : "-Infinity") : "\(real)"
                buffers.append(
                    try text.map { text in try Self.copy(Array(text.utf8), sql: query.sql, terminated: true) })
                lengths.append(0); formats.append(0); types.append(0)
            case .text(let text):
                buffers.append(try Self.copy(Array(text.utf8), sql: query.sql, terminated: true))
                lengths.append(0); formats.append(0); types.append(0)
            case .blob(let bytes):
                buffers.append(try Self.copy(bytes, sql: query.sql, terminated: false))
                lengths.append(Int32(bytes.count)); formats.append(1); types.append(17)
            }
        }
        let name = try prepare(query, types: types)
        let pointers = buffers.map { UnsafePointer($0) }
        let result = PQexecPrepared(handle, name, Int32(values.count), pointers, lengths, formats, 0)
        defer { PQclear(result) }
        try check(result, sql: query.sql)
        guard let result else {
            throw PostgresError(sqlState: nil, message: "libpq returned no result", sql: query.sql)
        }
        return try read(result)
    }

    /// `bytes` in malloc'd C memory (released with free()), NUL-terminated for a text parameter.
    /// Out of memory is an error of this statement, never a crash or a silently NULL parameter.
    private static func copy(_ bytes: [UInt8], sql: String, terminated: Bool) throws -> UnsafeMutablePointer<CChar> {
        let count = bytes.count + (terminated ? 1 : 0)
        guard let raw = malloc(max(count, 1)) else {
            throw PostgresError(sqlState: nil, message: "out of memory for a \(count)-byte parameter", sql: sql)
        }
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { raw.copyMemory(from: base, byteCount: source.count) }
        }
        if terminated { raw.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self) }
        return raw.assumingMemoryBound(to: CChar.self)
    }

    /// The prepared statement for `query`, preparing it on first use. The parameter types of the
    /// first call are declared (`bytea` for blobs, inferred for the rest), so a statement's blob
    /// parameters must always be blobs, which the named-constant statements guarantee.
    private func prepare(_ query: PostgresQuery, types: [Oid]) throws -> String {
        if let name = prepared[query.text] { return name }
        let name = "rewind_\(prepared.count)"
        let result = PQprepare(handle, name, query.text, Int32(types.count), types)
        defer { PQclear(result) }
        try check(result, sql: query.sql)
        prepared[query.text] = name
        return name
    }

    private func check(_ result: OpaquePointer?, sql: String) throws {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK else { return }
        let lost = PQstatus(handle) != CONNECTION_OK
        guard let result, let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) else {
            throw PostgresError(
                sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: sql, connectionLost: true)
        }
        throw PostgresError(
            sqlState: String(cString: state), message: Self.trimmed(PQresultErrorMessage(result)), sql: sql,
            connectionLost: lost)
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        var text = String(cString: message)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
