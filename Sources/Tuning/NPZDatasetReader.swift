import CZlib

/// A data set sent as NumPy's `.npz`: one ZIP archive (stored or deflate-compressed members, as
/// `numpy.savez` and `numpy.savez_compressed` write it, ZIP64 sizes included) holding `x.npy`
/// (`N×D`, `N×H×W` or `N×H×W×C`; uint8, other integers, float32 or float64, little-endian, C
/// order) and `y.npy` (`N` integer labels, 0..K−1). Read with its own local-header reader and
/// `.npy` header parser: nothing is ever unpickled.
///
/// The rows are decoded straight into stored chunks (the layout of `CSVDatasetStream`), a block
/// of the archive at a time: what the read holds beyond the archive is the labels, one chunk in
/// the making and one inflated block.
public enum NPZDatasetReader {
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

    /// Decodes `archive`, handing each sealed chunk to `chunk` in order; `row` sees each row too.
    /// Throws `NPZParseError` for an archive it refuses, or what `chunk` throws.
    public static func read(
        _ archive: UnsafeRawBufferPointer, chunkBytes: Int = 1 << 20,
        row: (ArraySlice<Double>, Int32) -> Void = { _, _ in },
        chunk: ([UInt8]) throws -> Void
    ) throws -> Summary {
        let members = try ZipLocalHeaders.members(archive)
        for member in members where member.name != "x.npy" && member.name != "y.npy" {
            throw NPZParseError(
                "the archive holds \(member.name): only x and y are read (np.savez(f, x=x, y=y)); leave the rest out")
        }
        guard let xMember = members.first(where: { $0.name == "x.npy" }) else {
            throw NPZParseError("the archive has no x: save it with np.savez(f, x=x, y=y)")
        }
        guard let yMember = members.first(where: { $0.name == "y.npy" }) else {
            throw NPZParseError("the archive has no y: save it with np.savez(f, x=x, y=y)")
        }
        guard members.count == 2 else { throw NPZParseError("the archive holds x or y twice") }

        // The labels first (N integers), whatever their order in the archive.
        var labels: [Int32] = []
        var yDecoder = NPYDecoder(array: "y")
        try ZipLocalHeaders.forEachBlock(of: yMember, in: archive) { block in
            try yDecoder.feed(block) { header in
                guard header.kind == "i" || header.kind == "u" else {
                    throw NPZParseError(
                        "y has dtype \(header.descr): labels must be integers (int8..int64, uint8..uint64)")
                }
                guard header.shape.count == 1 || (header.shape.count == 2 && header.shape[1] == 1) else {
                    throw NPZParseError("y has shape \(header.shapeText): it must be (N,), one label per row")
                }
                guard header.shape[0] <= CSVDatasetParser.maxRows else {
                    throw NPZParseError("y has \(header.shape[0]) rows: at most \(CSVDatasetParser.maxRows) are taken")
                }
                labels.reserveCapacity(header.shape[0])
            } value: { value, index in
                guard value >= 0, value < Double(Int32.max), value == value.rounded() else {
                    throw NPZParseError("y[\(index)] is \(value): labels must be 0..K-1")
                }
                labels.append(Int32(value))
            }
        }
        let yHeader = try yDecoder.finish()
        guard !labels.isEmpty else { throw NPZParseError("y is empty: a data set needs at least one row") }

        var builder = CSVDatasetStream.ChunkBuilder()
        var encodedBytes = 0
        var labelCounts: [Int] = []
        var features = 0
        var rowValues: [Double] = []
        var rowIndex = 0
        var xDecoder = NPYDecoder(array: "x")
        func seal() throws {
            guard builder.rows > 0 else { return }
            let sealed = builder.sealed()
            encodedBytes += sealed.count
            builder = CSVDatasetStream.ChunkBuilder()
            try chunk(sealed)
        }
        try ZipLocalHeaders.forEachBlock(of: xMember, in: archive) { block in
            try xDecoder.feed(block) { header in
                guard header.kind == "u" || header.kind == "i" || header.kind == "f" else {
                    throw NPZParseError("x has dtype \(header.descr): use uint8, float32 or float64")
                }
                guard (2...4).contains(header.shape.count) else {
                    throw NPZParseError(
                        "x has shape \(header.shapeText): it must be N×D, N×H×W or N×H×W×C")
                }
                guard header.shape[0] == labels.count else {
                    throw NPZParseError(
                        "x has \(header.shape[0]) rows but y has \(labels.count) labels: N must match")
                }
                features = header.shape.dropFirst().reduce(1, *)
                guard features > 0 else { throw NPZParseError("x has shape \(header.shapeText): rows are empty") }
                rowValues.reserveCapacity(features)
            } value: { value, index in
                guard value.isFinite else {
                    throw NPZParseError(
                        "x holds \(value) at row \(index / features), value \(index % features): every value must be finite"
                    )
                }
                rowValues.append(value)
                if rowValues.count == features {
                    let label = labels[rowIndex]
                    builder.add(rowValues[...], label, reserving: chunkBytes)
                    row(rowValues[...], label)
                    let slot = Int(label)
                    if slot >= labelCounts.count {
                        labelCounts += Array(repeating: 0, count: slot + 1 - labelCounts.count)
                    }
                    labelCounts[slot] += 1
                    rowValues.removeAll(keepingCapacity: true)
                    rowIndex += 1
                    if builder.bytes >= chunkBytes { try seal() }
                }
            }
        }
        let xHeader = try xDecoder.finish()
        try seal()
        let sizes = xHeader.shape
        let image = sizes.count == 2 ? nil : [sizes[1], sizes[2], sizes.count == 4 ? sizes[3] : 1]
        return Summary(
            info: DatasetInfo(rows: labels.count, features: features, classes: labelCounts.count),
            imageShape: image, labelCounts: labelCounts, encodedBytes: encodedBytes,
            dtypes: (xHeader.descr, yHeader.descr))
    }
}

/// Why an `.npz` upload was refused, in words that say what to change.
public struct NPZParseError: Error, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// One member of a ZIP archive as its local header describes it.
struct ZipMember {
    var name: String
    /// 0 stored, 8 deflate.
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    /// Where its data starts in the archive.
    var dataOffset: Int
}

/// Reads a ZIP archive's members from their local headers, front to back (what an archive
/// written in one pass, as NumPy's are, holds), and their data a block at a time.
enum ZipLocalHeaders {
    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50

    /// The members before the central directory; refuses what it cannot read safely.
    static func members(_ bytes: UnsafeRawBufferPointer) throws(NPZParseError) -> [ZipMember] {
        var members: [ZipMember] = []
        var offset = 0
        while true {
            guard offset + 4 <= bytes.count else {
                throw NPZParseError(
                    offset == 0
                        ? "the body is not a ZIP archive (.npz)" : "the archive is truncated (no central directory)")
            }
            let signature = bytes.uint32(at: offset)
            if signature == centralSignature || signature == endSignature {
                guard !members.isEmpty else { throw NPZParseError("the archive is empty: it needs x and y") }
                return members
            }
            guard signature == localSignature else {
                throw NPZParseError(
                    offset == 0
                        ? "the body is not a ZIP archive (.npz): send np.savez output"
                        : "the archive is corrupt at byte \(offset)")
            }
            guard offset + 30 <= bytes.count else {
                throw NPZParseError("the archive is truncated (a member's header)")
            }
            let flags = bytes.uint16(at: offset + 6)
            let method = bytes.uint16(at: offset + 8)
            let crc = bytes.uint32(at: offset + 14)
            var compressed = Int(bytes.uint32(at: offset + 18))
            var uncompressed = Int(bytes.uint32(at: offset + 22))
            let nameLength = Int(bytes.uint16(at: offset + 26))
            let extraLength = Int(bytes.uint16(at: offset + 28))
            let nameStart = offset + 30
            let dataOffset = nameStart + nameLength + extraLength
            guard dataOffset <= bytes.count else { throw NPZParseError("the archive is truncated (a member's name)") }
            let name = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
            guard flags & 0x1 == 0 else { throw NPZParseError("member \(name) is encrypted") }
            guard flags & 0x8 == 0 else {
                throw NPZParseError(
                    "member \(name) gives its sizes after its data (written to a stream): save the archive to a file or BytesIO"
                )
            }
            guard method == 0 || method == 8 else {
                throw NPZParseError(
                    "member \(name) uses compression method \(method): only stored and deflate are read")
            }
            // ZIP64: sizes of 0xFFFFFFFF are in the extra field 0x0001 (uncompressed first).
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF {
                var extra = nameStart + nameLength
                let extraEnd = dataOffset
                var found = false
                while extra + 4 <= extraEnd {
                    let id = bytes.uint16(at: extra), size = Int(bytes.uint16(at: extra + 2))
                    guard extra + 4 + size <= extraEnd else { break }
                    if id == 0x0001 {
                        var field = extra + 4
                        if uncompressed == 0xFFFF_FFFF, field + 8 <= extra + 4 + size {
                            uncompressed = Int(clamping: bytes.uint64(at: field))
                            field += 8
                        }
                        if compressed == 0xFFFF_FFFF, field + 8 <= extra + 4 + size {
                            compressed = Int(clamping: bytes.uint64(at: field))
                        }
                        found = true
                    }
                    extra += 4 + size
                }
                guard found else { throw NPZParseError("member \(name) has ZIP64 sizes but no ZIP64 field") }
            }
            guard compressed <= bytes.count - dataOffset else {
                throw NPZParseError("the archive is truncated (member \(name) needs \(compressed) bytes)")
            }
            members.append(
                ZipMember(
                    name: name, method: method, crc: crc, compressedSize: compressed, uncompressedSize: uncompressed,
                    dataOffset: dataOffset))
            offset = dataOffset + compressed
        }
    }

    /// Blocks of inflated data at most this long.
    static let blockBytes = 256 << 10

    /// Hands `member`'s data to `body` a block at a time, checking its size and CRC-32.
    static func forEachBlock(
        of member: ZipMember, in archive: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let data = UnsafeRawBufferPointer(
            rebasing: archive[member.dataOffset..<(member.dataOffset + member.compressedSize)])
        var crc = crc32(0, nil, 0)
        var produced = 0
        func hand(_ block: UnsafeRawBufferPointer) throws {
            guard !block.isEmpty else { return }
            crc = crc32(crc, block.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(block.count))
            produced += block.count
            guard produced <= member.uncompressedSize else {
                throw NPZParseError(
                    "member \(member.name) holds more than its header's \(member.uncompressedSize) bytes: the archive is corrupt"
                )
            }
            try body(block)
        }
        if member.method == 0 {
            var offset = 0
            while offset < data.count {
                let end = min(data.count, offset + blockBytes)
                try hand(UnsafeRawBufferPointer(rebasing: data[offset..<end]))
                offset = end
            }
        } else {
            try inflate(data, name: member.name, hand)
        }
        guard produced == member.uncompressedSize else {
            throw NPZParseError(
                "member \(member.name) holds \(produced) bytes, its header says \(member.uncompressedSize): the archive is corrupt"
            )
        }
        guard UInt32(truncatingIfNeeded: crc) == member.crc else {
            throw NPZParseError("member \(member.name) fails its CRC-32 check: the archive is corrupt")
        }
    }

    /// Inflates raw deflate `data` a block at a time.
    private static func inflate(
        _ data: UnsafeRawBufferPointer, name: String, _ hand: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NPZParseError("cannot start inflating member \(name)")
        }
        defer { inflateEnd(&stream) }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 8)
        defer { output.deallocate() }
        var consumed = 0
        var finished = false
        while !finished {
            let chunk = min(data.count - consumed, Int(UInt32.max / 2))
            stream.next_in = UnsafeMutablePointer(
                mutating: (data.baseAddress.map { $0 + consumed } ?? UnsafeRawPointer(output.baseAddress!))
                    .assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(chunk)
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(blockBytes)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            consumed += chunk - Int(stream.avail_in)
            let made = blockBytes - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END: finished = true
            case Z_OK: break
            case Z_BUF_ERROR where made > 0: break
            default:
                throw NPZParseError("member \(name) does not inflate: the compressed data is corrupt or truncated")
            }
            if made == 0 && !finished && consumed >= data.count {
                throw NPZParseError("member \(name) ends before its compressed data does: the archive is truncated")
            }
            try hand(UnsafeRawBufferPointer(start: output.baseAddress, count: made))
        }
    }
}

/// A `.npy` array's header: what `np.save` writes before the values.
struct NPYHeader {
    /// NumPy's dtype string, e.g. `<f8`.
    var descr: String
    /// `u`, `i` or `f`.
    var kind: Character
    var itemSize: Int
    var shape: [Int]

    var shapeText: String { "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")") }

    /// Parses the dict literal `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
    init(dictionary text: String, array: String) throws(NPZParseError) {
        func value(of key: String) throws(NPZParseError) -> Substring {
            guard let range = text.range(of: "'\(key)':") else {
                throw NPZParseError("\(array) has no '\(key)' in its .npy header")
            }
            return text[range.upperBound...].drop { $0 == " " }
        }
        let descrValue = try value(of: "descr")
        guard descrValue.first == "'", let close = descrValue.dropFirst().firstIndex(of: "'") else {
            throw NPZParseError("\(array) has a structured dtype: save a plain numeric array")
        }
        descr = String(descrValue[descrValue.index(after: descrValue.startIndex)..<close])
        let order = try value(of: "fortran_order")
        guard order.hasPrefix("False") else {
            throw NPZParseError("\(array) is in Fortran order: save np.ascontiguousarray(\(array))")
        }
        let shapeValue = try value(of: "shape")
        guard shapeValue.first == "(", let end = shapeValue.firstIndex(of: ")") else {
            throw NPZParseError("\(array) has an unreadable shape in its .npy header")
        }
        var sizes: [Int] = []
        for part in shapeValue[shapeValue.index(after: shapeValue.startIndex)..<end].split(separator: ",") {
            let trimmed = part.filter { $0 != " " }
            guard !trimmed.isEmpty else { continue }
            guard let size = Int(trimmed), size >= 0, size <= 1 << 31 else {
                throw NPZParseError("\(array) has an unreadable shape in its .npy header")
            }
            sizes.append(size)
        }
        shape = sizes
        guard !sizes.isEmpty else { throw NPZParseError("\(array) is a scalar: it needs one row per example") }
        var total = 1
        for size in sizes {
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow, product <= 1 << 40 else { throw NPZParseError("\(array) has shape \(sizes): too large") }
            total = product
        }
        let chars = Array(descr)
        guard chars.count >= 2 else { throw NPZParseError("\(array) has dtype \(descr), which is not read") }
        if chars.contains("O") {
            throw NPZParseError("\(array) is an object array, stored with pickle, which is never read: save numbers")
        }
        guard chars[0] != ">" else {
            throw NPZParseError("\(array) is big-endian (\(descr)): save \(array).astype('<\(descr.dropFirst())')")
        }
        guard chars[0] == "<" || chars[0] == "|" || chars[0] == "=", let size = Int(String(chars[2...])),
            ["u", "i", "f"].contains(chars[1])
        else { throw NPZParseError("\(array) has dtype \(descr): use uint8, float32 or float64 (integers for y)") }
        kind = chars[1]
        itemSize = size
        let valid: Set<Int> = kind == "f" ? [4, 8] : [1, 2, 4, 8]
        guard valid.contains(size), size == 1 || chars[0] != "|" else {
            throw NPZParseError("\(array) has dtype \(descr), which is not read: use uint8, float32 or float64")
        }
    }

    /// Number of values.
    var count: Int { shape.reduce(1, *) }
}

/// Decodes one `.npy` member fed a block at a time: its header, then each value as a Double.
struct NPYDecoder {
    let array: String
    private var headerBytes: [UInt8] = []
    private(set) var header: NPYHeader?
    /// Bytes of a value split across blocks.
    private var carry: [UInt8] = []
    private var decoded = 0

    init(array: String) {
        self.array = array
    }

    mutating func feed(
        _ block: UnsafeRawBufferPointer, header onHeader: (NPYHeader) throws -> Void,
        value: (Double, Int) throws -> Void
    ) throws {
        var rest = block[...]
        if header == nil {
            let needed = headerLength()
            let take = min(rest.count, max(0, (needed ?? 12) - headerBytes.count))
            headerBytes += rest.prefix(take)
            rest = rest.dropFirst(take)
            guard let total = headerLength(), headerBytes.count >= total else {
                if !rest.isEmpty { try feed(UnsafeRawBufferPointer(rebasing: rest), header: onHeader, value: value) }
                return
            }
            let parsed = try parseHeader(total)
            header = parsed
            try onHeader(parsed)
        }
        guard let header else { return }
        let size = header.itemSize
        if !carry.isEmpty {
            let take = min(size - carry.count, rest.count)
            carry += rest.prefix(take)
            rest = rest.dropFirst(take)
            if carry.count == size {
                try carry.withUnsafeBytes { try emit($0, 0, header, value) }
                carry.removeAll(keepingCapacity: true)
            }
        }
        let whole = rest.count / size * size
        guard decoded + whole / size <= header.count else {
            throw NPZParseError("\(array) holds more values than its shape \(header.shapeText)")
        }
        let base = UnsafeRawBufferPointer(rebasing: rest)
        var offset = 0
        while offset < whole {
            try emit(base, offset, header, value)
            offset += size
        }
        carry += rest.dropFirst(whole)
    }

    private mutating func emit(
        _ bytes: UnsafeRawBufferPointer, _ offset: Int, _ header: NPYHeader, _ value: (Double, Int) throws -> Void
    ) throws {
        let number: Double
        switch (header.kind, header.itemSize) {
        case ("u", 1): number = Double(bytes[offset])
        case ("i", 1): number = Double(Int8(bitPattern: bytes[offset]))
        case ("u", 2):
            number = Double(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case ("i", 2): number = Double(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
        case ("u", 4):
            number = Double(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case ("i", 4): number = Double(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        case ("u", 8):
            number = Double(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        case ("i", 8): number = Double(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
        case ("f", 4):
            number = Double(
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
        default:
            number = Double(
                bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        }
        try value(number, decoded)
        decoded += 1
    }

    /// The header, once every value was decoded.
    func finish() throws(NPZParseError) -> NPYHeader {
        guard let header else { throw NPZParseError("\(array) ends inside its .npy header: the archive is truncated") }
        guard decoded == header.count, carry.isEmpty else {
            throw NPZParseError(
                "\(array) holds \(decoded) values, its shape \(header.shapeText) needs \(header.count): the archive is truncated"
            )
        }
        return header
    }

    /// The total length of magic, version, length field and header, once enough bytes are in.
    private func headerLength() -> Int? {
        guard headerBytes.count >= 10 else { return nil }
        if headerBytes[6] == 1 { return 10 + (Int(headerBytes[8]) | Int(headerBytes[9]) << 8) }
        guard headerBytes.count >= 12 else { return nil }
        return 12
            + (Int(headerBytes[8]) | Int(headerBytes[9]) << 8 | Int(headerBytes[10]) << 16 | Int(headerBytes[11]) << 24)
    }

    private func parseHeader(_ total: Int) throws(NPZParseError) -> NPYHeader {
        guard headerBytes.starts(with: [0x93] + Array("NUMPY".utf8)) else {
            throw NPZParseError("\(array) is not a .npy array (no \\x93NUMPY magic)")
        }
        guard (1...3).contains(headerBytes[6]) else {
            throw NPZParseError("\(array) is .npy version \(headerBytes[6]), which is not read")
        }
        guard total <= 1 << 20 else { throw NPZParseError("\(array) has a .npy header of \(total) bytes") }
        let start = headerBytes[6] == 1 ? 10 : 12
        let text = String(decoding: headerBytes[start..<total], as: UTF8.self)
        return try NPYHeader(dictionary: text, array: array)
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func uint16(at offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    fileprivate func uint32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    fileprivate func uint64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
