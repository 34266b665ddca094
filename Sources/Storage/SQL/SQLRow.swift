/// One result row of either engine, read by column name (as the query's column list or its
/// `AS` aliases spell it), so that one decoder per record serves both engines whatever order
/// their statements select in.
///
/// Reading a column the query does not return, or a NULL through a non-optional accessor, is a
/// bug in the query or the schema, so it traps. Positional accessors remain for one-column
/// queries and tests.
public protocol SQLRow {
    /// The position of the column named `name`; traps when the row has none.
    func column(_ name: String) -> Int32
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    func bool(_ column: Int32) -> Bool
    func double(_ column: Int32) -> Double
    func string(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]
}

extension SQLRow {
    public func int(_ column: Int32) -> Int { Int(int64(column)) }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    public func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }
    public func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    public func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }

    public func isNull(_ name: String) -> Bool { isNull(column(name)) }
    public func int64(_ name: String) -> Int64 { int64(column(name)) }
    public func int(_ name: String) -> Int { int(column(name)) }
    public func bool(_ name: String) -> Bool { bool(column(name)) }
    public func double(_ name: String) -> Double { double(column(name)) }
    public func string(_ name: String) -> String { string(column(name)) }
    public func blob(_ name: String) -> [UInt8] { blob(column(name)) }
    public func optionalInt64(_ name: String) -> Int64? { optionalInt64(column(name)) }
    public func optionalInt(_ name: String) -> Int? { optionalInt(column(name)) }
    public func optionalDouble(_ name: String) -> Double? { optionalDouble(column(name)) }
    public func optionalString(_ name: String) -> String? { optionalString(column(name)) }
}

/// The column names of a result, looked up once per statement or result rather than per value.
struct SQLColumns: Sendable {
    private let positions: [String: Int32]

    /// `names` in result order; a name that appears twice keeps its first position.
    init(_ names: [String]) {
        positions = Dictionary(names.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })
    }

    func position(of name: String) -> Int32 {
        guard let position = positions[name] else {
            preconditionFailure("no column \(name) in the result (columns: \(positions.keys.sorted()))")
        }
        return position
    }
}
