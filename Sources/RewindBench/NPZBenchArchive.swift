import Tuning

/// A `.npz` archive as `numpy.savez` (stored members) or `numpy.savez_compressed` (deflated)
/// writes it, `x` before `y`, with a central directory, made here so that the upload benchmark
/// needs no Python: `x` float32 `N×28×28`, `y` int64 labels 0...9.
enum NPZBenchArchive {
    /// About `bytes` of 28×28 float32 images in [0, 1) with their labels (before compression).
    static func images(bytes: Int, compressed: Bool = false) -> [UInt8] {
        let rows = max(10, bytes / (28 * 28 * 4 + 8))
        var pixels = [UInt8](repeating: 0, count: rows * 28 * 28 * 4)
        for index in 0..<(rows * 28 * 28) {
            // 24 pseudo-random bits a value (a SplitMix64 step), so that deflate cannot shrink the
            // archive much: the deflated body is about as large as the stored one.
            var mixed = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            let value = Float((mixed ^ (mixed >> 31)) & 0xFF_FFFF) / Float(1 << 24)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { word in
                for byte in 0..<4 { pixels[index * 4 + byte] = word[byte] }
            }
        }
        var labels: [UInt8] = []
        labels.reserveCapacity(rows * 8)
        for row in 0..<rows { labels += withUnsafeBytes(of: Int64(row % 10).littleEndian, Array.init) }
        let x = npy(descr: "<f4", shape: "(\(rows), 28, 28)") + pixels
        let y = npy(descr: "<i8", shape: "(\(rows),)") + labels
        return zip([("x.npy", x), ("y.npy", y)], compressed: compressed)
    }

    /// A `.npy` version 1.0 header, padded to 64 bytes as NumPy pads it.
    static func npy(descr: String, shape: String) -> [UInt8] {
        var dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + dictionary.utf8.count + 1) % 64 != 0 { dictionary += " " }
        dictionary += "\n"
        let length = UInt16(dictionary.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dictionary.utf8)
    }

    /// The members (stored, or deflated), each with a local header, then the central directory
    /// and its end record.
    static func zip(_ members: [(String, [UInt8])], compressed: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        for (name, data) in members {
            let offset = UInt32(out.count)
            let crc = crc32(data), size = UInt32(data.count)
            let stored = compressed ? RawDeflate.compress(data) : data
            let common =
                le16(20) + le16(0) + le16(compressed ? 8 : 0) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(stored.count)) + le32(size) + le16(name.utf8.count)
            out += le32(0x0403_4b50) + common + le16(0) + Array(name.utf8) + stored
            central +=
                le32(0x0201_4b50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(offset) + Array(name.utf8)
        }
        let start = UInt32(out.count)
        out += central
        out +=
            le32(0x0605_4b50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
            + le32(UInt32(central.count)) + le32(start) + le16(0)
        return out
    }

    /// CRC-32 (IEEE), bit by bit through a table.
    static func crc32(_ data: [UInt8]) -> UInt32 {
        let table: [UInt32] = (0..<256).map { index in
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
            return value
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
