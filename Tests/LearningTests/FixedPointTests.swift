import RewindTestSupport
import Testing

@testable import Learning

@Suite("FixedPoint")
struct FixedPointTests {
    @Test func conversionTruncatesTowardZeroForBothSigns() {
        let ulp = 0x1p-52
        #expect(FixedPoint.raw(1.5 * ulp) == 1)
        #expect(FixedPoint.raw(-1.5 * ulp) == -1)
        #expect(FixedPoint.raw(0.9 * ulp) == 0)
        #expect(FixedPoint.raw(-0.9 * ulp) == 0)
        #expect(FixedPoint.raw(1.0) == 1 << 52)
        #expect(FixedPoint.raw(-2.5) == -(5 << 51))
        #expect(FixedPoint.raw(-0.0) == 0)
    }

    @Test func rawAndValueRoundTripForEveryExactlyRepresentableValue() {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<10_000 {
            let raw = Int64.random(in: -(1 << 53)...(1 << 53), using: &rng)
            #expect(FixedPoint.raw(FixedPoint.value(raw)) == raw)
        }
        #expect(FixedPoint.value(FixedPoint.raw(1023.75)!) == 1023.75)
    }

    @Test func conversionRejectsNonFiniteAndOutOfRangeValues() {
        #expect(FixedPoint.raw(.nan) == nil)
        #expect(FixedPoint.raw(.infinity) == nil)
        #expect(FixedPoint.raw(-.infinity) == nil)
        #expect(FixedPoint.raw(1024) == nil)
        #expect(FixedPoint.raw(-1024) == nil)
        #expect(FixedPoint.raw(1e300) == nil)
        // The largest Doubles below the limit are still representable.
        #expect(FixedPoint.raw((1024.0).nextDown) == FixedPoint.rawLimit - 512)
        #expect(FixedPoint.raw(-(1024.0).nextDown) == -(FixedPoint.rawLimit - 512))
    }

    @Test func addingAndSubtractingTheSameIncrementRestoresTheValue() {
        // The trainer adds raw(x) forward and raw(-x) in reverse; truncation makes them cancel,
        // where a floor-based conversion would be off by one for most x.
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<10_000 {
            let w = Int64.random(in: -(1 << 60)...(1 << 60), using: &rng)
            let x = Double.random(in: -4...4, using: &rng) * 0x1p-20
            let forward = w + FixedPoint.raw(x)!
            #expect(forward + FixedPoint.raw(-x)! == w)
        }
    }

    @Test func floorDivModRoundsTowardNegativeInfinity() {
        #expect(floorDivMod(7, 2) == (3, 1))
        #expect(floorDivMod(-7, 2) == (-4, 1))
        #expect(floorDivMod(-8, 2) == (-4, 0))
        #expect(floorDivMod(-1, 1 << 32) == (-1, (1 << 32) - 1))
        #expect(floorDivMod(Int64.min, 3) == (-3_074_457_345_618_258_603, 1))
        for a in Int64(-60)...60 {
            for b in Int64(1)...13 {
                let reference = Int64((Double(a) / Double(b)).rounded(.down))
                let (q, r) = floorDivMod(a, b)
                #expect(q == reference && r == a - reference * b)
            }
        }
    }

    @Test func floorDivModKeepsTheRemainderInRangeForLargeValues() {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<10_000 {
            let a = Int64.random(in: -(1 << 62)...(1 << 62), using: &rng)
            let b = Int64.random(in: 1...(1 << 32), using: &rng)
            let (q, r) = floorDivMod(a, b)
            #expect(r >= 0 && r < b)
            #expect(q * b + r == a)
        }
    }
}

@Suite("RationalFactor")
struct RationalFactorTests {
    @Test func numeratorIsTheNearestIntegerToGammaTimesTwoToThe32() {
        #expect(RationalFactor(approximating: 0.5)?.numerator == 1 << 31)
        #expect(RationalFactor(approximating: 0.9)?.numerator == 3_865_470_566)  // 0.9·2^32 = …566.4
        #expect(RationalFactor(approximating: 0.98)?.numerator == 4_209_067_950)  // …950.08
        #expect(RationalFactor(approximating: 0.99)?.numerator == 4_252_017_623)  // …623.04
        #expect(RationalFactor(approximating: 0.3)?.numerator == 1_288_490_189)  // …188.8
    }

    @Test func valueIsWithinHalfAUnitOfTheDenominatorOfGamma() throws {
        var rng = SeededGenerator(seed: 4)
        var gammas = [0.1, 0.5, 0.875, 0.9, 0.95, 0.98, 0.99, 0.999]
        for _ in 0..<1000 { gammas.append(Double.random(in: 0.001..<0.999, using: &rng)) }
        for gamma in gammas {
            let factor = try #require(RationalFactor(approximating: gamma))
            #expect(abs(factor.value - gamma) <= 0x1p-33)
            #expect(factor.value == Double(factor.numerator) / 0x1p32)
        }
    }

    @Test func gammasOutsideTheOpenUnitIntervalAreRejected() {
        for gamma in [0, 1, -0.5, 1.5, .nan, .infinity, -.infinity, -0.0] {
            #expect(RationalFactor(approximating: gamma) == nil)
        }
    }

    @Test func gammasNearTheEndsAreClampedToAUsableNumerator() {
        #expect(RationalFactor(approximating: 1e-20)?.numerator == 1)
        #expect(RationalFactor(approximating: 1 - 1e-12)?.numerator == (1 << 32) - 1)
    }

    @Test func bitsLostIsLog2OfTheInverseFactor() {
        #expect(RationalFactor(approximating: 0.5)?.bitsLost == 1)
        #expect(RationalFactor(numerator: 1 << 30).bitsLost == 2)
        let lost = RationalFactor(approximating: 0.9)!.bitsLost
        #expect(abs(lost - 0.152_003_093_594_340_4) < 1e-12)
    }
}
