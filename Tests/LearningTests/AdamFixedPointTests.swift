import Foundation
import Learning
import Testing

/// The wide fixed-point formats of Adam's moments: m (`AdamMoment`, signed) and v (`AdamVariance`).
@Suite("Adam's fixed-point moments")
struct AdamFixedPointTests {
    static func samples() -> [Double] {
        var random = SplitMix64(seed: 3)
        var values: [Double] = [0, 1e-30, 1e-25, 1e-20, 3e-17, 1e-9, 0.5, 1, 1000, 1_048_575]
        values += (0..<200).map { _ in pow(10, -28 + 33 * random.nextUnit()) }
        return values + values.map { -$0 }
    }

    @Test("m converts with truncation toward zero: odd-symmetric, within one 2^-100 step, in range only")
    func momentConversion() throws {
        for x in Self.samples() {
            let raw = try #require(AdamMoment.raw(x), "\(x) is in range")
            #expect(AdamMoment.raw(-x) == -raw)
            let back = AdamMoment.value(raw)
            #expect(back.magnitude <= x.magnitude && x.magnitude - back.magnitude <= 0x1p-100 + x.magnitude * 0x1p-51)
        }
        #expect(AdamMoment.raw(0x1p20) == nil && AdamMoment.raw(-0x1p20) == nil && AdamMoment.raw(.nan) == nil)
        // An increment (1 − β1)·g of 1e-20 registers on m's grid; on w's 2^-52 grid it was 0.
        #expect(AdamMoment.raw(1e-20)! > 0 && FixedPoint.raw(1e-20)! == 0)
    }

    @Test("m's floor division by a numerator recovers x = q·n + r with 0 ≤ r < n for either sign")
    func momentFloorDivision() {
        var random = SplitMix64(seed: 4)
        for _ in 0..<2000 {
            let magnitude = Int128(random.next() >> 8) << 56 | Int128(random.next() >> 8)
            let x = random.nextUnit() < 0.5 ? -magnitude : magnitude
            for n: UInt64 in [1, 2, 0xFFFF_FFFF, 0xE666_6666, random.next() >> 32 | 1] {
                let (q, r) = AdamMoment.floorDivMod(x, n)
                #expect(r < n && q * Int128(n) + Int128(r) == x, "\(x) div \(n)")
            }
        }
    }
}
