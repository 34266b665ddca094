import Synchronization

/// Generates UUIDv7 strings: a 48-bit millisecond timestamp, then random bits.
///
/// Ids sort by creation time (B-tree inserts stay at the right edge) and are safe in URLs.
public enum TimeOrderedID {
    /// The last id this process made, as (milliseconds, its 74 random bits as rand_a, rand_b).
    private static let last = Mutex<(ms: Int64, high: UInt64, low: UInt64)>((-1, 0, 0))

    /// A new id for `nowMs`, in the canonical 8-4-4-4-12 lower-case form, strictly greater than
    /// every id this process made before (RFC 9562 §6.2, monotonic random): ids made in the same
    /// millisecond still sort in the order they were made, so "newest first" is exact.
    public static func make(nowMs: Int64) -> String {
        let (ms, high, low) = last.withLock { last in
            if nowMs > last.ms {
                var generator = SystemRandomNumberGenerator()
                // rand_b keeps its top bit clear so that increments within a millisecond have room.
                last = (nowMs, generator.next() & 0xFFF, generator.next() & (1 << 61 - 1))
            } else if last.low < 1 << 62 - 1 {
                last.low += 1
            } else if last.high < 0xFFF {
                last = (last.ms, last.high + 1, 0)
            } else {
                last = (last.ms + 1, 0, 0)
            }
            return last
        }
        return format(ms: ms, high: high, low: low)
    }

    /// A new id from a given generator, for reproducible tests.
    public static func make(nowMs: Int64, using generator: inout some RandomNumberGenerator) -> String {
        format(ms: nowMs, high: generator.next() & 0xFFF, low: generator.next() & (1 << 62 - 1))
    }

    /// unix_ts_ms (48 bits), version 7, rand_a (`high`, 12 bits), variant 10, rand_b (`low`, 62 bits).
    static func format(ms: Int64, high: UInt64, low: UInt64) -> String {
        precondition(ms >= 0 && ms < 1 << 48, "timestamp out of UUIDv7 range")
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * i)) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: high >> 8)  // version 7
        bytes[7] = UInt8(truncatingIfNeeded: high)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: low >> 56)  // RFC 9562 variant
        for i in 9..<16 { bytes[i] = UInt8(truncatingIfNeeded: low >> (8 * (15 - i))) }
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
