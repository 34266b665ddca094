import CPostgreSQL

/// One row of a PostgreSQL result in text format; valid only inside the callback that receives it.
///
/// Columns are read by name (`SQLRow`, the same accessors as `SQLiteRow`, so that one decoder
/// serves both engines) or by position.
public struct PostgresRow: SQLRow {
    let result: OpaquePointer
    let index: Int32
    let columns: SQLColumns

    public func column(_ name: String) -> Int32 { columns.position(of: name) }

    public func isNull(_ column: Int32) -> Bool {
        PQgetisnull(result, index, column) != 0
    }

    /// The column's text, or nil for NULL.
    private func text(_ column: Int32) -> String? {
        guard !isNull(column), let value = PQgetvalue(result, index, column) else { return nil }
        let count = Int(PQgetlength(result, index, column))
        return value.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    public func int64(_ column: Int32) -> Int64 {
        guard let text = text(column) else { preconditionFailure("column \(column) is NULL") }
        guard let value = Int64(text) else { preconditionFailure("column \(column) is not an integer: \(text)") }
        return value
    }

    public func bool(_ column: Int32) -> Bool {
        guard let text = text(column) else { preconditionFailure("column \(column) is NULL") }
        return text == "t" || text == "true" || text == "1"
    }

    public func double(_ column: Int32) -> Double {
        guard let text = text(column) else { preconditionFailure("column \(column) is NULL") }
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text) else { preconditionFailure("column \(column) is not a number: \(text)") }
            return value
        }
    }

    public func string(_ column: Int32) -> String {
        guard let text = text(column) else { preconditionFailure("column \(column) is NULL") }
        return text
    }

    /// `bytea` in the server's default hex output (`\x0a1b...`).
    public func blob(_ column: Int32) -> [UInt8] {
        precondition(!isNull(column), "column \(column) is NULL")
        guard let value = PQgetvalue(result, index, column) else { return [] }
        let count = Int(PQgetlength(result, index, column))
        return value.withMemoryRebound(to: UInt8.self, capacity: count) { start in
            let text = UnsafeBufferPointer(start: start, count: count)
            precondition(
                count >= 2 && text[0] == UInt8(ascii: "\\") && text[1] == UInt8(ascii: "x"),
                "bytea column \(column) is not in hex format")
            var bytes: [UInt8] = []
            bytes.reserveCapacity((count - 2) / 2)
            var position = 2
            while position + 1 < count {
                bytes.append(Self.nibble(text[position]) << 4 | Self.nibble(text[position + 1]))
                position += 2
            }
            return bytes
        }
    }

    private static func nibble(_ digit: UInt8) -> UInt8 {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: preconditionFailure("not a hex digit in bytea output")
        }
    }
}
