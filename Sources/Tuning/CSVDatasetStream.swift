/// A CSV data set parsed in pieces as it arrives and encoded into stored chunks as it goes, so
/// that neither the parsed values nor their stored form is ever held whole: what the parse holds
/// is one chunk in the making plus the chunks not yet taken (`takeChunk()` after each `feed`).
///
/// A chunk is a block of consecutive rows: their count (UInt32), their feature values (Float64
/// bit patterns, row-major) and their labels (Int32), all little-endian. `DatasetAssembler` puts
/// chunks back together into a `Dataset`. The same validation as `CSVDatasetParser` applies, with
/// the same errors naming line and column.
public struct CSVDatasetStream {
    /// A chunk is sealed once its rows' stored form reaches this many bytes.
    public let chunkBytes: Int
    private var reader = CSVRowReader()
    private var chunk = ChunkBuilder()
    private var sealed: [[UInt8]] = []
    /// Rows per class so far (index = label).
    public private(set) var labelCounts: [Int] = []
    /// Bytes of every chunk sealed so far.
    public private(set) var encodedBytes = 0

    public init(chunkBytes: Int = 1 << 20) {
        precondition(chunkBytes > 0, "a chunk needs room for at least one row")
        self.chunkBytes = chunkBytes
    }

    /// The header row's fields, or nil when the first row was data (known once the first line is read).
    public var header: [String]? { reader.header }

    /// Parses the lines `bytes` completes, handing each data row to `row` as well; throws at the first problem.
    public mutating func feed(
        _ bytes: UnsafeBufferPointer<UInt8>, row: (ArraySlice<Double>, Int32) -> Void = { _, _ in }
    ) throws(DatasetParseError) {
        var sink = Sink(chunk: chunk, sealed: sealed, labelCounts: labelCounts, chunkBytes: chunkBytes)
        // Moved out, not copied: the buffers are mutated in place and moved back.
        (chunk, sealed, labelCounts) = (ChunkBuilder(), [], [])
        defer { (chunk, sealed, labelCounts) = (sink.chunk, sink.sealed, sink.labelCounts) }
        try reader.feed(bytes) { _, values, label in
            sink.add(values, label)
            row(values, label)
        }
    }

    /// Parses a last unterminated line, checks the whole and seals the last chunk.
    public mutating func finish(
        row: (ArraySlice<Double>, Int32) -> Void = { _, _ in }
    ) throws(DatasetParseError) -> DatasetInfo {
        var sink = Sink(chunk: chunk, sealed: sealed, labelCounts: labelCounts, chunkBytes: chunkBytes)
        (chunk, sealed, labelCounts) = (ChunkBuilder(), [], [])
        defer { (chunk, sealed, labelCounts) = (sink.chunk, sink.sealed, sink.labelCounts) }
        let shape = try reader.finish { _, values, label in
            sink.add(values, label)
            row(values, label)
        }
        sink.seal()
        return DatasetInfo(rows: shape.rows, features: shape.features, classes: shape.classes)
    }

    /// The oldest sealed chunk not yet taken, or nil.
    public mutating func takeChunk() -> [UInt8]? {
        guard !sealed.isEmpty else { return nil }
        let next = sealed.removeFirst()
        encodedBytes += next.count
        return next
    }

    private struct Sink {
        var chunk: ChunkBuilder
        var sealed: [[UInt8]]
        var labelCounts: [Int]
        let chunkBytes: Int

        mutating func add(_ values: ArraySlice<Double>, _ label: Int32) {
            chunk.add(values, label, reserving: chunkBytes)
            let index = Int(label)
            if index >= labelCounts.count { labelCounts += Array(repeating: 0, count: index + 1 - labelCounts.count) }
            labelCounts[index] += 1
            if chunk.bytes >= chunkBytes { seal() }
        }

        mutating func seal() {
            guard chunk.rows > 0 else { return }
            sealed.append(chunk.sealed())
            chunk = ChunkBuilder()
        }
    }

    /// The rows of one chunk in the making: values and labels apart (as little-endian words),
    /// joined when sealed.
    struct ChunkBuilder {
        var rows = 0
        var values: [UInt64] = []
        var labels: [UInt32] = []

        var bytes: Int { 4 + values.count * 8 + labels.count * 4 }

        mutating func add(_ row: ArraySlice<Double>, _ label: Int32, reserving capacity: Int) {
            if rows == 0 { values.reserveCapacity(capacity / 8 + row.count) }
            for value in row { values.append(value.bitPattern.littleEndian) }
            labels.append(UInt32(bitPattern: label).littleEndian)
            rows += 1
        }

        func sealed() -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(bytes)
            out.append(littleEndian: UInt32(rows))
            values.withUnsafeBytes { out.append(contentsOf: $0) }
            labels.withUnsafeBytes { out.append(contentsOf: $0) }
            return out
        }
    }
}

/// Builds a `Dataset` from its stored chunks (`CSVDatasetStream`), one at a time: what it holds
/// is the data set itself plus the chunk being read.
public struct DatasetAssembler {
    public let name: String
    public let rows: Int
    public let features: Int
    public let classes: Int
    private var inputs: [Double] = []
    private var labels: [Int32] = []

    public init(name: String, rows: Int, features: Int, classes: Int) {
        self.name = name
        self.rows = rows
        self.features = features
        self.classes = classes
        inputs.reserveCapacity(rows * features)
        labels.reserveCapacity(rows)
    }

    /// Appends one chunk's rows; throws when it is not a chunk of this shape.
    public mutating func append(chunk bytes: [UInt8]) throws(DatasetDecodingError) {
        guard bytes.count >= 4 else { throw DatasetDecodingError() }
        let count = Int(bytes.littleEndianUInt32(at: 0))
        guard bytes.count == 4 + count * (features * 8 + 4), labels.count + count <= rows else {
            throw DatasetDecodingError()
        }
        bytes.withUnsafeBytes { raw in
            for index in 0..<(count * features) {
                inputs.append(
                    Double(
                        bitPattern: UInt64(
                            littleEndian: raw.loadUnaligned(fromByteOffset: 4 + index * 8, as: UInt64.self))))
            }
            let labelsStart = 4 + count * features * 8
            for index in 0..<count {
                labels.append(
                    Int32(
                        bitPattern: UInt32(
                            littleEndian: raw.loadUnaligned(fromByteOffset: labelsStart + index * 4, as: UInt32.self))))
            }
        }
    }

    /// The data set, once every chunk was appended.
    public func dataset() throws(DatasetDecodingError) -> Dataset {
        guard labels.count == rows, features > 0, labels.allSatisfy({ $0 >= 0 && Int($0) < classes }) else {
            throw DatasetDecodingError()
        }
        return Dataset(name: name, features: features, classes: classes, inputs: inputs, labels: labels)
    }
}
