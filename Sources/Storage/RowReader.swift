/// Column access by position, the same for both engines' result rows, so that one decoder per
/// record type serves both (their column lists are kept in the same order).
///
/// Reading a NULL through a non-optional accessor is a bug in the query or the schema, so it traps.
public protocol RowReader {
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    func bool(_ column: Int32) -> Bool
    func double(_ column: Int32) -> Double
    func string(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]
}

extension RowReader {
    public func int(_ column: Int32) -> Int { Int(int64(column)) }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    public func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    public func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    public func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}

extension JobRecord {
    /// Decodes a row selected with each engine's `Jobs.columns`.
    init(row: some RowReader) {
        guard let status = JobStatus(rawValue: row.string(2)) else {
            preconditionFailure("unknown job status \(row.string(2)); the CHECK constraint forbids it")
        }
        self.init(
            id: row.string(0), name: row.string(1), status: status, specJSON: row.string(3),
            datasetID: row.optionalString(4), priority: row.int(5), createdMs: row.int64(6),
            startedMs: row.optionalInt64(7), finishedMs: row.optionalInt64(8),
            progressDone: row.int(9), progressTotal: row.int(10), progressFraction: row.double(11),
            latestJSON: row.optionalString(12), bestJSON: row.optionalString(13),
            errorCode: row.optionalString(14), errorMessage: row.optionalString(15),
            attempt: row.int(16), maxAttempts: row.int(17), runAfterMs: row.int64(18),
            leaseOwner: row.optionalString(19), leaseExpiresMs: row.optionalInt64(20),
            cancelRequested: row.bool(21), version: row.int64(22), owner: row.string(23))
    }
}

extension HistoryRow {
    /// Decodes a row selected with each engine's `History.columns`.
    init(row: some RowReader) {
        self.init(
            metaIteration: row.int(0), itemJSON: row.string(1), trainingLoss: row.optionalDouble(2),
            validationLoss: row.optionalDouble(3), validationError: row.optionalDouble(4),
            hypergradientNorm: row.optionalDouble(5), seconds: row.double(6), createdMs: row.int64(7))
    }
}

extension DatasetRecord {
    /// Decodes a row selected with each engine's `Datasets.columns`.
    init(row: some RowReader) {
        self.init(
            id: row.string(0), name: row.string(1), rows: row.int(2), features: row.int(3),
            classes: row.int(4), sha256: row.string(5), builtin: row.bool(6), createdMs: row.int64(7),
            contentBytes: row.int(8), owner: row.string(9), profile: row.optionalString(10))
    }
}
