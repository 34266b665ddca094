import RewindTestSupport
import Testing

@testable import Learning

@Suite("InformationBuffer")
struct InformationBufferTests {
    /// Values a trainer can hold: zeros, tiny and large magnitudes of both signs, the range ends.
    static func randomValues(count: Int, using rng: inout SeededGenerator) -> [Int64] {
        let limit = FixedPoint.rawLimit - 1
        return (0..<count).map { _ in
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: return 0
            case 1: return Int64.random(in: -3...3, using: &rng)
            case 2: return Bool.random(using: &rng) ? limit : -limit
            case 3: return Int64.random(in: -(1 << 40)...(1 << 40), using: &rng)
            default: return Int64.random(in: -limit...limit, using: &rng)
            }
        }
    }

    /// A factor from the whole range, including both extreme numerators.
    static func randomFactor(using rng: inout SeededGenerator) -> RationalFactor {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return RationalFactor(numerator: 1)
        case 1: return RationalFactor(numerator: (1 << 32) - 1)
        case 2: return RationalFactor(numerator: 1 << 31)
        default: return RationalFactor(approximating: Double.random(in: 0.05..<0.999, using: &rng))!
        }
    }

    @Test func reversingTwoHundredMultipliesRestoresEveryValueBitForBit() {
        var rng = SeededGenerator(seed: 10)
        // Index 100 belongs to no segment and must never change; the last segment spans
        // several tiles of the limb kernels.
        let segments = [0..<100, 101..<102, 102..<2702]
        let original = Self.randomValues(count: 2702, using: &rng)
        var values = original
        let buffer = InformationBuffer(segments: segments)
        var history: [(factors: [RationalFactor], bits: [Int])] = []
        for _ in 0..<200 {
            let factors = segments.indices.map { _ in Self.randomFactor(using: &rng) }
            values.withUnsafeMutableBufferPointer { v in
                for s in segments.indices { buffer.multiply(v, segment: s, by: factors[s]) }
            }
            history.append((factors, segments.indices.map { buffer.storedBits(segment: $0) }))
        }
        #expect(values != original)
        #expect(buffer.storedBits > 0)
        for (factors, bits) in history.reversed() {
            // The storage shrinks exactly as it grew.
            #expect(segments.indices.map { buffer.storedBits(segment: $0) } == bits)
            values.withUnsafeMutableBufferPointer { v in
                for s in segments.indices.reversed() { buffer.divide(v, segment: s, by: factors[s]) }
            }
        }
        #expect(values == original)
        #expect(buffer.isEmpty)
        #expect(buffer.storedBits == 0)
    }

    @Test func interleavedMultipliesAndDividesUndoInLastInFirstOutOrder() {
        var rng = SeededGenerator(seed: 11)
        let segments = [0..<40, 40..<41, 41..<120]
        let original = Self.randomValues(count: 120, using: &rng)
        var values = original
        let buffer = InformationBuffer(segments: segments)
        // Per segment: the factor of each pending multiply and the segment's values before it.
        var pending: [[(factor: RationalFactor, before: ArraySlice<Int64>)]] = Array(repeating: [], count: 3)
        for _ in 0..<1500 {
            let s = Int.random(in: 0..<3, using: &rng)
            if pending[s].isEmpty || Int.random(in: 0..<5, using: &rng) < 3 {
                let factor = Self.randomFactor(using: &rng)
                pending[s].append((factor, values[segments[s]]))
                values.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: s, by: factor) }
            } else {
                let (factor, before) = pending[s].removeLast()
                values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: s, by: factor) }
                #expect(values[segments[s]] == before)
            }
        }
        for s in segments.indices {
            while let (factor, before) = pending[s].popLast() {
                values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: s, by: factor) }
                #expect(values[segments[s]] == before)
            }
        }
        #expect(values == original)
        #expect(buffer.isEmpty)
    }

    @Test func segmentsAreReversedIndependentlyOfEachOther() {
        var rng = SeededGenerator(seed: 12)
        // 30 segments of 0 to 9 parameters, in shuffled order.
        var segments: [Range<Int>] = []
        var start = 0
        for _ in 0..<30 {
            let length = Int.random(in: 0...9, using: &rng)
            segments.append(start..<start + length)
            start += length
        }
        // An empty segment may coincide with the start of a non-empty one.
        segments.append(segments[3].lowerBound..<segments[3].lowerBound)
        segments.shuffle(using: &rng)
        let original = Self.randomValues(count: start, using: &rng)
        var values = original
        let buffer = InformationBuffer(segments: segments)
        var factors: [[RationalFactor]] = segments.map { _ in [] }
        for s in segments.indices {
            for _ in 0..<Int.random(in: 1...60, using: &rng) {
                let factor = Self.randomFactor(using: &rng)
                factors[s].append(factor)
                values.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: s, by: factor) }
            }
        }
        let multiplied = values
        let unwound = segments.indices.filter { $0 % 2 == 0 }
        for s in unwound {
            for factor in factors[s].reversed() {
                values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: s, by: factor) }
            }
        }
        for (s, range) in segments.enumerated() {
            let expected = unwound.contains(s) ? original[range] : multiplied[range]
            #expect(values[range] == expected)
            if unwound.contains(s) { #expect(buffer.storedBits(segment: s) == 0) }
        }
    }

    @Test func plainDoubleArithmeticDoesNotRoundTripTheSameSequence() {
        // Control: the exact round trip above is a real test, because the obvious float version
        // of the same dynamics loses bits.
        var rng = SeededGenerator(seed: 10)
        let original = Self.randomValues(count: 2702, using: &rng).map(FixedPoint.value)
        let factors = (0..<200).map { _ in Self.randomFactor(using: &rng).value }
        var values = original
        for gamma in factors { for i in values.indices { values[i] *= gamma } }
        for gamma in factors.reversed() { for i in values.indices { values[i] /= gamma } }
        let mismatches = zip(values, original).filter { $0 != $1 }.count
        #expect(mismatches > original.count / 2)
    }

    @Test func multiplyNeverTrapsAtTheEndsOfTheRange() {
        let limit = FixedPoint.rawLimit - 1
        let original: [Int64] = [limit, -limit, limit - (1 << 32), -1, 0, 1, Int64.max, Int64.min]
        var values = original
        let buffer = InformationBuffer(segments: [0..<original.count])
        let factors = [(1 << 32) - 1, 1, (1 << 32) - 1, 3, (1 << 31) + 1].map { RationalFactor(numerator: $0) }
        for factor in factors {
            values.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: 0, by: factor) }
        }
        for factor in factors.reversed() {
            values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: 0, by: factor) }
        }
        #expect(values == original)
        #expect(buffer.isEmpty)
    }

    @Test func poppingAnEmptyBufferYieldsZeroDigitsWithoutTrapping() {
        var zeros = [Int64](repeating: 0, count: 16)
        let buffer = InformationBuffer(segments: [0..<16])
        let factor = RationalFactor(approximating: 0.9)!
        zeros.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: 0, by: factor) }
        #expect(buffer.isEmpty)
        // One matching divide, then one with no multiply behind it: both pop zero digits.
        zeros.withUnsafeMutableBufferPointer { buffer.divide($0, segment: 0, by: factor) }
        zeros.withUnsafeMutableBufferPointer { buffer.divide($0, segment: 0, by: factor) }
        #expect(zeros.allSatisfy { $0 == 0 })
        #expect(buffer.isEmpty)

        // A divide with nothing behind it pops a zero digit: c ← ⌊c·d/n⌋ and B keeps c·d mod n,
        // so a multiply afterwards restores c exactly and empties the buffer again.
        let original: [Int64] = [5, -5, 1 << 28, -(1 << 28), 0, -1]
        var values = original
        let n = Int64(factor.numerator)
        let expected = values.map { c in floorDivMod(c << 32, n).quotient }
        let fresh = InformationBuffer(segments: [0..<original.count])
        values.withUnsafeMutableBufferPointer { fresh.divide($0, segment: 0, by: factor) }
        #expect(values == expected)
        #expect(!fresh.isEmpty)
        values.withUnsafeMutableBufferPointer { fresh.multiply($0, segment: 0, by: factor) }
        #expect(values == original)
        #expect(fresh.isEmpty)
    }

    @Test func reciprocalDivisionAgreesWithWideDivision() {
        var rng = SeededGenerator(seed: 13)
        var numerators: [UInt64] = [1, 2, 3, 1 << 31, (1 << 31) + 1, (1 << 32) - 1, 3_865_470_566]
        for _ in 0..<200 { numerators.append(UInt64.random(in: 1..<(1 << 32), using: &rng)) }
        for n in numerators {
            let divisor = InformationBuffer.Divisor(n)
            let limit = UInt128(n) << 64  // the divisor's domain: x < n·2^64
            var cases: [UInt128] = [
                0, 1, limit - 1, limit - UInt128(n), UInt128(n), UInt128(n) - 1, UInt128(UInt64.max),
            ]
            for _ in 0..<400 {
                let x =
                    UInt128(UInt64.random(in: 0 ... .max, using: &rng)) << 64
                    | UInt128(UInt64.random(in: 0 ... .max, using: &rng))
                cases.append(x % limit)
            }
            for x in cases {
                let (q, r) = divisor.divide(x)
                #expect(UInt128(q) == x / UInt128(n) && UInt128(r) == x % UInt128(n))
            }
        }
    }

}
