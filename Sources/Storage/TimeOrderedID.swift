/// Generates UUIDv7 strings: a 48-bit millisecond timestamp, then random bits.
///
/// Ids sort roughly by creation time (B-tree inserts stay at the right edge) and are safe in URLs.
public enum TimeOrderedID {
    /// A new id for `nowMs`, in the canonical 8-4-4-4-12 lower-case form.
    public static func make(nowMs: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(nowMs: nowMs, using: &generator)
    }

    /// A new id from a given generator, for reproducible tests.
    public static func make(nowMs: Int64, using generator: inout some RandomNumberGenerator) -> String {
        precondition(nowMs >= 0 && nowMs < 1 << 48, "timestamp out of UUIDv7 range")
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: nowMs >> (40 - 8 * i)) }
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        for i in 6..<16 {
            let word = i < 8 ? random.0 : random.1
            bytes[i] = UInt8(truncatingIfNeeded: word >> (8 * (i % 8)))
        }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 9562 variant
        let hex = bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32]
            .map { String(characters[$0]) }
            .joined(separator: "-")
    }
}
