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
    public static func parseEncoded(_ bytes: [UInt8]) throws(DatasetParseError) -> (info: DatasetInfo, encoded: [UInt8])
    {
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
                                of: value.bitPattern.littleEndian,
                                toByteOffset: 16 + (row * shape.features + index) * 8,
                                as: UInt64.self)
                        }
                        out.storeBytes(
                            of: UInt32(bitPattern: label).littleEndian, toByteOffset: labelsStart + row * 4,
                            as: UInt32.self)
                    }
                }
                return (
                    DatasetInfo(rows: shape.rows, features: shape.features, classes: shape.classes), encoded, profile
                )
            }
        }
        return try result.get()
    }

    /// One validating pass: hands each data row (its index, feature values and label) to `row`
    /// and returns the shape, or throws at the first problem. A header row's fields go to `header`.
    private static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, header: inout [String]?, row: (Int, ArraySlice<Double>, Int32) -> Void
    ) throws(DatasetParseError) -> (rows: Int, features: Int, classes: Int) {
        var reader = CSVRowReader()
        try reader.feed(bytes, row: row)
        let shape = try reader.finish(row: row)
        header = reader.header
        return shape
    }
}
