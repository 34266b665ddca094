import JSON

/// Why an uploaded CSV is not a usable dataset, at its first problem: 1-based line and column
/// (the column is the field's position in the row, counting from 1).
public struct DatasetParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Parses an uploaded CSV dataset: numeric feature columns, then the integer class label.
///
/// Numbers read in place (`DecimalNumber`), no per-field strings, and the values written straight
/// into their stored form (`parseEncoded`): a 64 MiB upload parses in about a second. Accepted: an optional header row (a first row that is not
/// all numbers), `\n` or `\r\n` line ends, blank lines at the end, spaces around fields, fields in
/// double quotes. Refused: ragged rows, fewer than two columns, non-finite values, labels that are
/// not integers in 0..<maxClasses, fewer than two distinct labels, and the size limits below.
public enum CSVDatasetParser {
    public static let maxRows = 1_000_000
    public static let maxFeatures = 10_000
    /// Feature values in all (rows × features): 400 MB of doubles.
    public static let maxValues = 50_000_000
    public static let maxClasses = 10_000

    public static func parse(_ bytes: [UInt8], name: String = "dataset") throws(DatasetParseError) -> Dataset {
        let parsed = try parseEncoded(bytes)
        // The encoding is exact and was just written, so decoding cannot fail.
        return try! Dataset(encoded: parsed.encoded, name: name)
    }

    /// Parses and validates `bytes` straight into the stored form (`Dataset.encoded()`), without
    /// building the rows in between: a first pass validates and counts, a second writes each
    /// value into a buffer of the exact size. What the parse allocates is that buffer alone,
    /// 8 bytes per value and 4 per row (at most 4× the body, for one-digit values; about 1–3×
    /// for real data), plus one row.
    public static func parseEncoded(_ bytes: [UInt8]) throws(DatasetParseError) -> (info: DatasetInfo, encoded: [UInt8]) {
        let parsed = try parseProfiled(bytes)
        return (parsed.info, parsed.encoded)
    }

    /// `parseEncoded`, and what the upload turned out to hold (`DatasetProfile`), gathered from
    /// the same rows as they are written.
    public static func parseProfiled(
        _ bytes: [UInt8]
    ) throws(DatasetParseError) -> (info: DatasetInfo, encoded: [UInt8], profile: DatasetProfile) {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(DatasetParseError) in
                var header: [String]?
                let shape = try scan(buffer, header: &header) { _, _, _ in }
                var profile = DatasetProfile(header: header)
                let values = shape.rows * shape.features
                var encoded = [UInt8](repeating: 0, count: 16 + values * 8 + shape.rows * 4)
                encoded.withUnsafeMutableBytes { out in
                    for (index, byte) in Dataset.magic.enumerated() { out[index] = byte }
                    for (index, header) in [shape.rows, shape.features, shape.classes].enumerated() {
                        out.storeBytes(of: UInt32(header).littleEndian, toByteOffset: 4 + 4 * index, as: UInt32.self)
                    }
                    let labelsStart = 16 + values * 8
                    var ignored: [String]?
                    _ = try? scan(buffer, header: &ignored) { row, features, label in
                        profile.add(features: features, label: label)
                        for (index, value) in features.enumerated() {
                            out.storeBytes(
                                of: value.bitPattern.littleEndian, toByteOffset: 16 + (row * shape.features + index) * 8,
                                as: UInt64.self)
                        }
                        out.storeBytes(of: UInt32(bitPattern: label).littleEndian, toByteOffset: labelsStart + row * 4, as: UInt32.self)
                    }
                }
                return (DatasetInfo(rows: shape.rows, features: shape.features, classes: shape.classes), encoded, profile)
            }
        }
        return try result.get()
    }

    /// One validating pass: hands each data row (its index, feature values and label) to `row`
    /// and returns the shape, or throws at the first problem. A header row's fields go to `header`.
    private static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, header: inout [String]?, row: (Int, ArraySlice<Double>, Int32) -> Void
    ) throws(DatasetParseError) -> (rows: Int, features: Int, classes: Int) {
        var cursor = Cursor(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { cursor.position = 3 }
        var columns = 0
        var rows = 0
        var values: [Double] = []  // one row's fields, reused
        var firstLabelLine = 0
        var minimum = Int32.max, maximum = Int32.min

        while !cursor.atEnd {
            let line = cursor.line
            let fields = cursor.nextLine()
            if fields.isEmpty || (fields.count == 1 && trimmed(fields[0], in: bytes).isEmpty) {
                guard cursor.restIsBlank() else {
                    throw DatasetParseError(line: line, column: 1, message: "empty row (blank lines are allowed only at the end)")
                }
                break
            }
            values.removeAll(keepingCapacity: true)
            var badField: (column: Int, text: String)?
            for (index, field) in fields.enumerated() {
                let text = trimmed(field, in: bytes)
                let span = UnsafeBufferPointer(rebasing: bytes[text])
                if let value = DecimalNumber.parse(span) {
                    values.append(value)
                } else if badField == nil {
                    badField = (index + 1, String(decoding: span.prefix(40), as: UTF8.self))
                }
            }
            if let badField {
                if line == 1 && rows == 0 {
                    let names = fields.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[trimmed($0, in: bytes)]), as: UTF8.self) }
                    // Never drop a broken first data row as if it were a header.
                    guard isPlausibleHeader(names) else {
                        throw DatasetParseError(
                            line: line, column: badField.column,
                            message: "not a number: \"\(badField.text)\" (the first row is neither all numbers nor a header of column names)")
                    }
                    header = names
                    columns = fields.count  // a header row: it fixes the column count, nothing else
                    continue
                }
                throw DatasetParseError(line: line, column: badField.column, message: "not a number: \"\(badField.text)\"")
            }
            if columns == 0 {
                columns = fields.count
                guard columns >= 2 else {
                    throw DatasetParseError(line: line, column: 1, message: "needs at least 2 columns: features, then the class label")
                }
                guard columns - 1 <= maxFeatures else {
                    throw DatasetParseError(line: line, column: maxFeatures + 1, message: "more than \(maxFeatures) feature columns")
                }
            }
            guard fields.count == columns else {
                throw DatasetParseError(
                    line: line, column: min(fields.count, columns) + 1,
                    message: "expected \(columns) columns like the first row, found \(fields.count)")
            }
            for (index, value) in values.enumerated() where !value.isFinite {
                throw DatasetParseError(line: line, column: index + 1, message: "value out of range for a double")
            }
            let label = values[columns - 1]
            guard label == label.rounded(.towardZero), label >= 0, label < Double(maxClasses) else {
                throw DatasetParseError(line: line, column: columns, message: "class label must be an integer between 0 and \(maxClasses - 1)")
            }
            guard rows < maxRows else {
                throw DatasetParseError(line: line, column: 1, message: "more than \(maxRows) rows")
            }
            guard (rows + 1) * (columns - 1) <= maxValues else {
                throw DatasetParseError(line: line, column: 1, message: "more than \(maxValues) feature values in all")
            }
            if rows == 0 { firstLabelLine = line }
            let labelValue = Int32(label)
            minimum = min(minimum, labelValue)
            maximum = max(maximum, labelValue)
            row(rows, values[0..<(columns - 1)], labelValue)
            rows += 1
        }

        guard rows > 0 else {
            throw DatasetParseError(line: 1, column: 1, message: "no data rows")
        }
        guard maximum != minimum else {
            throw DatasetParseError(
                line: firstLabelLine, column: columns,
                message: "every row has class label \(maximum); at least 2 distinct class labels are needed")
        }
        return (rows, columns - 1, Int(maximum) + 1)
    }

    /// The field without surrounding spaces, tabs or one pair of double quotes.
    private static func trimmed(_ field: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var lower = field.lowerBound, upper = field.upperBound
        while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
        while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
        if upper - lower >= 2, bytes[lower] == UInt8(ascii: "\""), bytes[upper - 1] == UInt8(ascii: "\"") {
            lower += 1
            upper -= 1
        }
        return lower..<upper
    }

    /// Splits lines into field ranges; commas inside double quotes do not split.
    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        var line = 1
        private var fields: [Range<Int>] = []

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        var atEnd: Bool { position >= bytes.count }

        /// The fields of the next line (empty for a blank line), moving past its line end.
        mutating func nextLine() -> [Range<Int>] {
            fields.removeAll(keepingCapacity: true)
            var start = position
            var quoted = false
            var end = position
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") {
                    quoted.toggle()
                } else if byte == UInt8(ascii: ",") && !quoted {
                    fields.append(start..<end)
                    start = end + 1
                } else if byte == 0x0A {
                    break
                }
                end += 1
            }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if !(fields.isEmpty && lineEnd == start) { fields.append(start..<lineEnd) }
            position = end + 1
            line += 1
            return fields
        }

        /// Whether only whitespace and line ends remain.
        func restIsBlank() -> Bool {
            position >= bytes.count || bytes[position...].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        }
    }
}
