/// A compact, exact binary form of a parsed data set, as the service stores uploads: parsing and
/// validation happen once, at upload; a job only decodes.
///
/// Layout (little-endian): magic "RWD1", rows, features, classes (UInt32 each), then rows·features
/// Float64 bit patterns, then rows Int32 labels.
extension Dataset {
    static let magic: [UInt8] = Array("RWD1".utf8)

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(16 + inputs.count * 8 + labels.count * 4)
        for header in [rows, features, classes] { bytes.append(littleEndian: UInt32(header)) }
        for value in inputs { bytes.append(littleEndian: value.bitPattern) }
        for label in labels { bytes.append(littleEndian: UInt32(bitPattern: label)) }
        return bytes
    }

    /// Decodes `encoded()` output; throws on anything else, so a damaged blob fails loudly.
    public init(encoded bytes: [UInt8], name: String) throws(DatasetDecodingError) {
        guard bytes.count >= 16, Array(bytes[0..<4]) == Self.magic else { throw DatasetDecodingError() }
        let rows = Int(bytes.littleEndianUInt32(at: 4))
        let features = Int(bytes.littleEndianUInt32(at: 8))
        let classes = Int(bytes.littleEndianUInt32(at: 12))
        guard features > 0, bytes.count == 16 + rows * features * 8 + rows * 4 else { throw DatasetDecodingError() }
        var inputs = [Double](repeating: 0, count: rows * features)
        var offset = 16
        for i in 0..<inputs.count {
            inputs[i] = Double(bitPattern: bytes.littleEndianUInt64(at: offset))
            offset += 8
        }
        var labels = [Int32](repeating: 0, count: rows)
        for i in 0..<rows {
            labels[i] = Int32(bitPattern: bytes.littleEndianUInt32(at: offset))
            offset += 4
        }
        guard labels.allSatisfy({ $0 >= 0 && Int($0) < classes }) else { throw DatasetDecodingError() }
        self.init(name: name, features: features, classes: classes, inputs: inputs, labels: labels)
    }
}

/// A stored data set blob that is not what `Dataset.encoded()` writes.
public struct DatasetDecodingError: Error, Equatable {}

extension [UInt8] {
    mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func littleEndianUInt32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(self[offset + i]) << (8 * i) }
        return value
    }

    func littleEndianUInt64(at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(self[offset + i]) << (8 * i) }
        return value
    }
}

extension Dataset {
    /// Rows per class of an encoded data set, read from its label block without decoding the
    /// features (an upload's answer reports them without a second copy of the values).
    public static func labelCounts(ofEncoded bytes: [UInt8], info: DatasetInfo) -> [Int] {
        var counts = Array(repeating: 0, count: info.classes)
        let labelsStart = 16 + info.rows * info.features * 8
        precondition(bytes.count == labelsStart + info.rows * 4, "an encoded data set of another shape")
        bytes.withUnsafeBytes { raw in
            for row in 0..<info.rows {
                let label = Int(
                    UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: labelsStart + row * 4, as: UInt32.self)))
                if label < counts.count { counts[label] += 1 }
            }
        }
        return counts
    }
}
