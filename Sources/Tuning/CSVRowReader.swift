import JSON

#if canImport(Glibc)
import Glibc
#endif

/// The validating core of CSV data set parsing, fed bytes in pieces of any size: each complete
/// line is read in place where it lies, and only a line cut by the end of a piece is copied, so
/// a body can be parsed as it arrives or in slices of a buffer.
///
/// Rules (`CSVDatasetParser` states them for users): an optional header row (a first row that is
/// not all numbers and reads as column names, `CSVDatasetParser.isPlausibleHeader`; kept in `header`), `\n` or `\r\n` line ends, blank lines only at the end, spaces around fields,
/// fields in double quotes; rows of equal width, at least two columns, finite values, integer
/// labels in 0..<maxClasses, at least two distinct labels, and the size limits. Errors name the
/// 1-based line and column of the first problem.
struct CSVRowReader {
    /// A data row: its index, its feature values and its label.
    typealias Row = (Int, ArraySlice<Double>, Int32) -> Void

    private(set) var rows = 0
    private(set) var columns = 0
    /// The header row's fields (trimmed, unquoted), or nil when the first row was data.
    private(set) var header: [String]?
    private var line = 1
    /// The start of a line the previous piece ended inside of.
    private var pending: [UInt8] = []
    private var started = false
    /// The first blank line seen: an error if any row follows it.
    private var firstBlankLine: Int?
    private var firstLabelLine = 0
    private var minimum = Int32.max, maximum = Int32.min
    /// One row's fields and values, reused.
    private var fields: [Range<Int>] = []
    private var values: [Double] = []

    /// Reads every line `bytes` completes; a last, unterminated line waits for the next piece.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, row: Row) throws(DatasetParseError) {
        var position = 0
        if !started {
            // A byte-order mark is skipped, even when it arrives in pieces.
            let head = pending + bytes.prefix(3 - min(3, pending.count))
            if head.count < 3, [0xEF, 0xBB, 0xBF].starts(with: head) {
                pending = head
                return
            }
            started = true
            if head.starts(with: [0xEF, 0xBB, 0xBF]) {
                position = 3 - pending.count
                pending = []
            }
        }
        if !pending.isEmpty {
            guard let end = Self.lineEnd(in: bytes, from: position) else {
                pending.append(contentsOf: bytes[position...])
                return
            }
            pending.append(contentsOf: bytes[position..<end])
            let carried = pending
            pending = []
            try carried.withUnsafeBufferPointer { line throws(DatasetParseError) in try read(line, row: row) }
            position = end + 1
        }
        while position < bytes.count {
            guard let end = Self.lineEnd(in: bytes, from: position) else {
                pending.append(contentsOf: bytes[position...])
                return
            }
            try read(UnsafeBufferPointer(rebasing: bytes[position..<end]), row: row)
            position = end + 1
        }
    }

    /// Reads the last line if it had no line end and checks the whole; returns the shape.
    mutating func finish(row: Row) throws(DatasetParseError) -> (rows: Int, features: Int, classes: Int) {
        if !pending.isEmpty {
            let carried = pending
            pending = []
            try carried.withUnsafeBufferPointer { line throws(DatasetParseError) in try read(line, row: row) }
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

    /// One line without its `\n`.
    private mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, row: Row) throws(DatasetParseError) {
        let line = self.line
        self.line += 1
        split(bytes)
        if fields.isEmpty || (fields.count == 1 && Self.trimmed(fields[0], in: bytes).isEmpty) {
            if firstBlankLine == nil { firstBlankLine = line }
            return
        }
        if let blank = firstBlankLine {
            throw DatasetParseError(
                line: blank, column: 1, message: "empty row (blank lines are allowed only at the end)")
        }
        values.removeAll(keepingCapacity: true)
        var badField: (column: Int, text: String)?
        for (index, field) in fields.enumerated() {
            let span = UnsafeBufferPointer(rebasing: bytes[Self.trimmed(field, in: bytes)])
            if let value = DecimalNumber.parse(span) {
                values.append(value)
            } else if badField == nil {
                badField = (index + 1, String(decoding: span.prefix(40), as: UTF8.self))
            }
        }
        if let badField {
            if line == 1 && rows == 0 {
                let names = fields.map {
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[Self.trimmed($0, in: bytes)]), as: UTF8.self)
                }
                // Never drop a broken first data row as if it were a header.
                guard CSVDatasetParser.isPlausibleHeader(names) else {
                    throw DatasetParseError(
                        line: line, column: badField.column,
                        message:
                            "not a number: \"\(badField.text)\" (the first row is neither all numbers nor a header of column names)"
                    )
                }
                header = names
                columns = fields.count  // a header row: it fixes the column count, nothing else
                return
            }
            throw DatasetParseError(line: line, column: badField.column, message: "not a number: \"\(badField.text)\"")
        }
        if columns == 0 {
            columns = fields.count
            guard columns >= 2 else {
                throw DatasetParseError(
                    line: line, column: 1, message: "needs at least 2 columns: features, then the class label")
            }
            guard columns - 1 <= CSVDatasetParser.maxFeatures else {
                throw DatasetParseError(
                    line: line, column: CSVDatasetParser.maxFeatures + 1,
                    message: "more than \(CSVDatasetParser.maxFeatures) feature columns")
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
        guard label == label.rounded(.towardZero), label >= 0, label < Double(CSVDatasetParser.maxClasses) else {
            throw DatasetParseError(
                line: line, column: columns,
                message: "class label must be an integer between 0 and \(CSVDatasetParser.maxClasses - 1)")
        }
        guard rows < CSVDatasetParser.maxRows else {
            throw DatasetParseError(line: line, column: 1, message: "more than \(CSVDatasetParser.maxRows) rows")
        }
        guard (rows + 1) * (columns - 1) <= CSVDatasetParser.maxValues else {
            throw DatasetParseError(
                line: line, column: 1, message: "more than \(CSVDatasetParser.maxValues) feature values in all")
        }
        if rows == 0 { firstLabelLine = line }
        let labelValue = Int32(label)
        minimum = min(minimum, labelValue)
        maximum = max(maximum, labelValue)
        row(rows, values[0..<(columns - 1)], labelValue)
        rows += 1
    }

    /// The index of the next `\n` at or after `start`, or nil.
    private static func lineEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, 0x0A, bytes.count - start)
        else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Splits a line into field ranges; commas inside double quotes do not split, a final `\r`
    /// is dropped. A blank line has no fields.
    private mutating func split(_ bytes: UnsafeBufferPointer<UInt8>) {
        fields.removeAll(keepingCapacity: true)
        var start = 0
        var quoted = false
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                quoted.toggle()
            } else if byte == UInt8(ascii: ",") && !quoted {
                fields.append(start..<index)
                start = index + 1
            }
        }
        var lineEnd = bytes.count
        if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if !(fields.isEmpty && lineEnd == start) { fields.append(start..<lineEnd) }
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
}
