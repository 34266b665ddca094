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

    /// The header, for a decoder fed only to check it (its values are decoded elsewhere).
    func finishHeader() throws(NPZParseError) -> NPYHeader {
        guard let header else { throw NPZParseError("\(array) ends inside its .npy header: the archive is truncated") }
        return header
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
