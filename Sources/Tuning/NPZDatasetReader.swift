/// A data set sent as NumPy's `.npz`: one ZIP archive (stored or deflate-compressed members, as
/// `numpy.savez` and `numpy.savez_compressed` write it, ZIP64 sizes included) holding `x.npy`
/// (`N×D`, `N×H×W` or `N×H×W×C`; uint8, other integers, float32 or float64, little-endian, C
/// order) and `y.npy` (`N` integer labels, 0..K−1). Read with its own local-header walker and
/// `.npy` header parser: nothing is ever unpickled.
///
/// Fed the archive in pieces as it arrives (`feed`, then `finish`), it decodes the rows straight
/// into stored chunks (the layout of `CSVDatasetStream`). A row needs its label, so when `x`
/// comes before `y` (as `np.savez(f, x=x, y=y)` writes them) `x`'s bytes wait in a spool (a
/// temporary file in the service) and are decoded once `y` is known; its header is checked as
/// soon as it arrives. What the read holds is the labels, one chunk in the making and one
/// inflated block.
public final class NPZDatasetReader {
    /// What an archive held.
    public struct Summary: Sendable {
        public var info: DatasetInfo
        /// `[height, width, channels]` for an `N×H×W(×C)` `x`, nil for `N×D`.
        public var imageShape: [Int]?
        /// Rows per class (index = label).
        public var labelCounts: [Int]
        /// Bytes of every chunk handed out.
        public var encodedBytes: Int
        /// `x`'s and `y`'s dtypes as NumPy spells them (`"<f8"`, `"|u1"`).
        public var dtypes: (x: String, y: String)
    }

    /// A row's values and label, seen as it is stored.
    public typealias Row = (ArraySlice<Double>, Int32) -> Void
    /// Takes each sealed chunk, in order.
    public typealias Chunk = ([UInt8]) throws -> Void

    private enum Current {
        case none
        case y
        case x
        case spooledX(any NPZSpool)
    }

    private let chunkBytes: Int
    private let makeSpool: () throws -> any NPZSpool
    private var walker = ZipStreamWalker()
    private var current = Current.none
    private var seen: Set<String> = []
    private var labels: [Int32] = []
    private var labelsKnown = false
    private var yDecoder = NPYDecoder(array: "y")
    private var yHeader: NPYHeader?
    private var xDecoder = NPYDecoder(array: "x")
    /// Checks a spooled `x`'s header as it arrives (its values are decoded later).
    private var xProbe = NPYDecoder(array: "x")
    private var xHeader: NPYHeader?
    private var spool: (any NPZSpool)?

    private var builder = CSVDatasetStream.ChunkBuilder()
    private var encodedBytes = 0
    private var labelCounts: [Int] = []
    private var features = 0
    private var rowValues: [Double] = []
    private var rowIndex = 0

    /// - Parameter spool: makes the store for an `x` that arrives before `y`.
    public init(chunkBytes: Int = 1 << 20, spool: @escaping () throws -> any NPZSpool = { MemorySpool() }) {
        self.chunkBytes = chunkBytes
        makeSpool = spool
    }

    /// Reads the archive's next bytes. Throws `NPZParseError` for an archive it refuses, or what
    /// `chunk` or the spool throws.
    public func feed(_ bytes: UnsafeRawBufferPointer, row: Row = { _, _ in }, chunk: Chunk) throws {
        try walker.feed(bytes) { event in try take(event, row: row, chunk: chunk) }
    }

    /// Ends the archive: checks it was whole, decodes a spooled `x`, seals the last chunk.
    public func finish(row: Row = { _, _ in }, chunk: Chunk) throws -> Summary {
        try walker.finish()
        guard seen.contains("x.npy") else {
            throw NPZParseError("the archive has no x: save it with np.savez(f, x=x, y=y)")
        }
        guard seen.contains("y.npy") else {
            throw NPZParseError("the archive has no y: save it with np.savez(f, x=x, y=y)")
        }
        if let spool {
            try spool.replay { block in try decodeX(block, row: row, chunk: chunk) }
            self.spool = nil
            xHeader = try xDecoder.finish()
        }
        guard let xHeader, let yHeader else { preconditionFailure("both members were read") }
        try seal(chunk)
        let sizes = xHeader.shape
        let image = sizes.count == 2 ? nil : [sizes[1], sizes[2], sizes.count == 4 ? sizes[3] : 1]
        return Summary(
            info: DatasetInfo(rows: labels.count, features: features, classes: labelCounts.count),
            imageShape: image, labelCounts: labelCounts, encodedBytes: encodedBytes,
            dtypes: (xHeader.descr, yHeader.descr))
    }

    // MARK: - Members

    private func take(_ event: ZipStreamWalker.Event, row: Row, chunk: Chunk) throws {
        switch event {
        case .memberStarted(let member):
            guard member.name == "x.npy" || member.name == "y.npy" else {
                throw NPZParseError(
                    "the archive holds \(member.name): only x and y are read (np.savez(f, x=x, y=y)); leave the rest out"
                )
            }
            guard seen.insert(member.name).inserted else { throw NPZParseError("the archive holds x or y twice") }
            if member.name == "y.npy" {
                current = .y
            } else if labelsKnown {
                current = .x
            } else {
                let spool = try makeSpool()
                self.spool = spool
                current = .spooledX(spool)
            }
        case .data(let block):
            switch current {
            case .y: try decodeY(block)
            case .x: try decodeX(block, row: row, chunk: chunk)
            case .spooledX(let spool):
                try spool.append(block)
                if xProbe.header == nil {
                    try xProbe.feed(block, header: { try self.checkX($0, labels: nil) }, value: { _, _ in })
                }
            case .none: preconditionFailure("data outside a member")
            }
        case .memberEnded:
            switch current {
            case .y:
                yHeader = try yDecoder.finish()
                guard !labels.isEmpty else { throw NPZParseError("y is empty: a data set needs at least one row") }
                labelsKnown = true
            case .x: xHeader = try xDecoder.finish()
            case .spooledX: _ = try xProbe.finishHeader()
            case .none: break
            }
            current = .none
        }
    }

    private func decodeY(_ block: UnsafeRawBufferPointer) throws {
        try yDecoder.feed(block) { header in
            guard header.kind == "i" || header.kind == "u" else {
                throw NPZParseError("y has dtype \(header.descr): labels must be integers (int8..int64, uint8..uint64)")
            }
            guard header.shape.count == 1 || (header.shape.count == 2 && header.shape[1] == 1) else {
                throw NPZParseError("y has shape \(header.shapeText): it must be (N,), one label per row")
            }
            guard header.shape[0] <= CSVDatasetParser.maxRows else {
                throw NPZParseError("y has \(header.shape[0]) rows: at most \(CSVDatasetParser.maxRows) are taken")
            }
            self.labels.reserveCapacity(header.shape[0])
        } value: { value, index in
            guard value >= 0, value < Double(Int32.max), value == value.rounded() else {
                throw NPZParseError("y[\(index)] is \(value): labels must be 0..K-1")
            }
            self.labels.append(Int32(value))
        }
    }

    /// Refuses an `x` it cannot take; `labels` (once known) must match its row count.
    private func checkX(_ header: NPYHeader, labels: Int?) throws {
        guard header.kind == "u" || header.kind == "i" || header.kind == "f" else {
            throw NPZParseError("x has dtype \(header.descr): use uint8, float32 or float64")
        }
        guard (2...4).contains(header.shape.count) else {
            throw NPZParseError("x has shape \(header.shapeText): it must be N×D, N×H×W or N×H×W×C")
        }
        if let labels, header.shape[0] != labels {
            throw NPZParseError("x has \(header.shape[0]) rows but y has \(labels) labels: N must match")
        }
        guard header.shape.dropFirst().reduce(1, *) > 0 else {
            throw NPZParseError("x has shape \(header.shapeText): rows are empty")
        }
    }

    private func decodeX(_ block: UnsafeRawBufferPointer, row: Row, chunk: Chunk) throws {
        try xDecoder.feed(block) { header in
            try self.checkX(header, labels: self.labels.count)
            self.features = header.shape.dropFirst().reduce(1, *)
            self.rowValues.reserveCapacity(self.features)
        } value: { value, index in
            guard value.isFinite else {
                throw NPZParseError(
                    "x holds \(value) at row \(index / self.features), value \(index % self.features): every value must be finite"
                )
            }
            self.rowValues.append(value)
            if self.rowValues.count == self.features { try self.endRow(row: row, chunk: chunk) }
        }
    }

    private func endRow(row: Row, chunk: Chunk) throws {
        let label = labels[rowIndex]
        builder.add(rowValues[...], label, reserving: chunkBytes)
        row(rowValues[...], label)
        let slot = Int(label)
        if slot >= labelCounts.count { labelCounts += Array(repeating: 0, count: slot + 1 - labelCounts.count) }
        labelCounts[slot] += 1
        rowValues.removeAll(keepingCapacity: true)
        rowIndex += 1
        if builder.bytes >= chunkBytes { try seal(chunk) }
    }

    private func seal(_ chunk: Chunk) throws {
        guard builder.rows > 0 else { return }
        let sealed = builder.sealed()
        encodedBytes += sealed.count
        builder = CSVDatasetStream.ChunkBuilder()
        try chunk(sealed)
    }
}

/// Where an `.npz`'s `x` waits for its labels when it arrives first: appended to as it arrives,
/// then read back once, in order.
public protocol NPZSpool: AnyObject {
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Hands back everything appended, in order, a block at a time.
    func replay(_ body: (UnsafeRawBufferPointer) throws -> Void) throws
}

/// A spool in memory: for archives already held whole, and tests.
public final class MemorySpool: NPZSpool {
    private var bytes: [UInt8] = []

    public init() {}

    public func append(_ more: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: more) }

    public func replay(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try body($0) }
    }
}

/// Why an `.npz` upload was refused, in words that say what to change.
public struct NPZParseError: Error, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}
