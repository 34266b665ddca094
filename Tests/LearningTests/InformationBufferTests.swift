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

    @Test(arguments: [false, true])
    func theKernelsFollowTheWordSizeIndependentSpecificationStepByStep(vectorised: Bool) {
        // One parameter per segment, so each segment's storedBits is one coder's bit length.
        var rng = SeededGenerator(seed: 14)
        let count = 24
        let segments = (0..<count).map { $0..<$0 + 1 }
        var values = Self.randomValues(count: count, using: &rng)
        var models = (0..<count).map { _ in SmallWordCoder(wordBits: 32) }
        var modelValues = values.map { Int128($0) }
        let buffer = InformationBuffer(segments: segments, vectorised: vectorised && InformationBuffer.vectorKernelsAvailable)
        // Per segment, the factor of each pending multiply and the velocity-like shift after it.
        var pending: [[(factor: RationalFactor, shift: Int64)]] = Array(repeating: [], count: count)
        for _ in 0..<3000 {
            let s = Int.random(in: 0..<count, using: &rng)
            if pending[s].isEmpty || Int.random(in: 0..<3, using: &rng) > 0 {
                let factor = Self.randomFactor(using: &rng)
                values.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: s, by: factor) }
                models[s].multiply(&modelValues[s], by: UInt128(factor.numerator))
                #expect(Int128(values[s]) == modelValues[s])
                // Between steps the value moves like a trainer's velocity, staying in range.
                let target = values[s] + Int64.random(in: -(1 << 45)...(1 << 45), using: &rng)
                let shift = max(min(target, FixedPoint.rawLimit - 1), -(FixedPoint.rawLimit - 1)) - values[s]
                pending[s].append((factor, shift))
                values[s] += shift
                modelValues[s] += Int128(shift)
            } else {
                let (factor, shift) = pending[s].removeLast()
                values[s] -= shift
                modelValues[s] -= Int128(shift)
                values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: s, by: factor) }
                models[s].divide(&modelValues[s], by: UInt128(factor.numerator))
                #expect(Int128(values[s]) == modelValues[s])
            }
            #expect(buffer.storedBits(segment: s) == models[s].bitLength)
            #expect(models[s].isNormal(lower: models[s].restingLower))
        }
        #expect(models.contains { $0.stack.count > 2 })
    }

    @Test func theVectorKernelsGiveTheBitsOfTheScalarLoops() {
        // Where the CPU lacks AVX-512 both buffers run the scalar loops and this checks nothing.
        var rng = SeededGenerator(seed: 16)
        let segments = [0..<1000, 1000..<1003, 1003..<1300, 1300..<1300]
        let original = Self.randomValues(count: 1300, using: &rng)
        var vectorValues = original, scalarValues = original
        let vector = InformationBuffer(segments: segments)
        let scalar = InformationBuffer(segments: segments, vectorised: false)
        // Per segment: the factor of each pending multiply and the shifts applied after it.
        var pending: [[(factor: RationalFactor, shifts: [Int64])]] = Array(repeating: [], count: segments.count)
        for step in 0..<1200 {
            let s = Int.random(in: 0..<3, using: &rng)
            let range = segments[s]
            if step < 3 || !pending[s].isEmpty && Int.random(in: 0..<3, using: &rng) == 0 {
                // A divide; in the first steps one with no multiply behind it, popping zeros (with
                // n ≥ 2^31, so that c·2^32/n still fits).
                let fresh = RationalFactor(numerator: UInt64.random(in: 1 << 31..<1 << 32, using: &rng))
                let (factor, shifts) = pending[s].popLast() ?? (fresh, [])
                for (i, shift) in zip(range, shifts) {
                    vectorValues[i] -= shift
                    scalarValues[i] -= shift
                }
                vectorValues.withUnsafeMutableBufferPointer { vector.divide($0, segment: s, by: factor) }
                scalarValues.withUnsafeMutableBufferPointer { scalar.divide($0, segment: s, by: factor) }
            } else {
                let factor = Self.randomFactor(using: &rng)
                vectorValues.withUnsafeMutableBufferPointer { vector.multiply($0, segment: s, by: factor) }
                scalarValues.withUnsafeMutableBufferPointer { scalar.multiply($0, segment: s, by: factor) }
                let limit = FixedPoint.rawLimit - 1
                let shifts = range.map { i in
                    let target = vectorValues[i] + Int64.random(in: -(1 << 44)...(1 << 44), using: &rng)
                    return max(min(target, limit), -limit) - vectorValues[i]
                }
                for (i, shift) in zip(range, shifts) {
                    vectorValues[i] += shift
                    scalarValues[i] += shift
                }
                pending[s].append((factor, shifts))
            }
            #expect(vectorValues == scalarValues)
            #expect(vector.storedBits(segment: s) == scalar.storedBits(segment: s))
        }
        #expect(vector.peakStoredBits == scalar.peakStoredBits)
        #expect(vector.storedBits > 1300 * 64)
    }

    @Test func splittingASegmentAcrossThreadsGivesTheSameBitsAsOneCall() async {
        var rng = SeededGenerator(seed: 15)
        let segments = [0..<1000, 1000..<1050, 1050..<1300]
        let original = Self.randomValues(count: 1300, using: &rng)
        let factors = (0..<300).map { _ in segments.indices.map { _ in Self.randomFactor(using: &rng) } }
        let whole = InformationBuffer(segments: segments)
        let split = InformationBuffer(segments: segments)
        var expected = original
        let results = UnsafeMutableBufferPointer<Int64>.allocate(capacity: original.count)
        defer { results.deallocate() }
        _ = results.initialize(from: original)
        for row in factors {
            expected.withUnsafeMutableBufferPointer { v in
                for s in segments.indices { whole.multiply(v, segment: s, by: row[s]) }
            }
        }
        for s in segments.indices {
            let parts = split.parameterRanges(segment: s, parts: 2)
            #expect(parts.map(\.count).reduce(0, +) == segments[s].count)
        }
        // Each of two tasks owns one tile-aligned half of every segment.
        let shared = SharedValues(pointer: results)
        await withTaskGroup(of: Void.self) { group in
            for part in 0..<2 {
                group.addTask {
                    for row in factors {
                        for s in segments.indices {
                            let range = split.parameterRanges(segment: s, parts: 2)[part]
                            split.multiply(shared.pointer, segment: s, parameters: range, by: row[s])
                        }
                    }
                }
            }
        }
        #expect(Array(results) == expected)
        #expect(split.storedBits == whole.storedBits)
        #expect(split.peakStoredBits == whole.peakStoredBits)
        await withTaskGroup(of: Void.self) { group in
            for part in 0..<2 {
                group.addTask {
                    for row in factors.reversed() {
                        for s in segments.indices {
                            let range = split.parameterRanges(segment: s, parts: 2)[part]
                            split.divide(shared.pointer, segment: s, parameters: range, by: row[s])
                        }
                    }
                }
            }
        }
        #expect(Array(results) == original)
        #expect(split.isEmpty)
    }

    @Test func reciprocalDivisionAgreesWithWideDivision() {
        var rng = SeededGenerator(seed: 13)
        var numerators: [UInt64] = [1, 2, 3, 1 << 31, (1 << 31) + 1, (1 << 32) - 1, 3_865_470_566]
        for _ in 0..<200 { numerators.append(UInt64.random(in: 1..<(1 << 32), using: &rng)) }
        for n in numerators {
            let divisor = InformationBuffer.Divisor(n)
            let limit = UInt128(n) << 64  // the divisor's domain: x < n·2^64
            var cases: [UInt128] = [0, 1, limit - 1, limit - UInt128(n), UInt128(n), UInt128(n) - 1, UInt128(UInt64.max)]
            for _ in 0..<400 {
                let x = UInt128(UInt64.random(in: 0 ... .max, using: &rng)) << 64 | UInt128(UInt64.random(in: 0 ... .max, using: &rng))
                cases.append(x % limit)
            }
            for x in cases {
                let (q, r) = divisor.divide(x)
                #expect(UInt128(q) == x / UInt128(n) && UInt128(r) == x % UInt128(n))
            }
        }
    }

}

/// Values two tasks update in disjoint parts, as the trainer's threads do.
private struct SharedValues: @unchecked Sendable {
    let pointer: UnsafeMutableBufferPointer<Int64>
}

@Suite("InformationBuffer storage rate")
struct InformationBufferRateTests {
    /// Trains-like dynamics (decay, then subtract a small increment) for `gammas.count` steps on
    /// `count` parameters; returns the peak bits held per parameter and Σ log2(d/n_t), after
    /// checking that the reversal is exact.
    static func peakBits(gammas: [Double], count: Int, seed: UInt64) -> (peak: Double, theory: Double) {
        var rng = SeededGenerator(seed: seed)
        let original = (0..<count).map { _ in Int64.random(in: -(1 << 50)...(1 << 50), using: &rng) }
        let factors = gammas.map { RationalFactor(approximating: $0)! }
        // Regenerated from the step index in reverse, as a trainer recomputes its gradient.
        func increments(step: Int) -> [Int64] {
            var stepRNG = SeededGenerator(seed: seed &* 1000 &+ UInt64(step))
            return (0..<count).map { _ in Int64.random(in: -(1 << 40)...(1 << 40), using: &stepRNG) }
        }
        var values = original
        let buffer = InformationBuffer(segments: [0..<count])
        for (t, factor) in factors.enumerated() {
            values.withUnsafeMutableBufferPointer { buffer.multiply($0, segment: 0, by: factor) }
            for (i, increment) in increments(step: t).enumerated() { values[i] -= increment }
        }
        let peak = Double(buffer.peakStoredBits) / Double(count)
        #expect(buffer.peakStoredBits >= buffer.storedBits)
        for (t, factor) in factors.enumerated().reversed() {
            for (i, increment) in increments(step: t).enumerated() { values[i] += increment }
            values.withUnsafeMutableBufferPointer { buffer.divide($0, segment: 0, by: factor) }
        }
        #expect(values == original)
        #expect(buffer.isEmpty)
        return (peak, factors.reduce(0) { $0 + $1.bitsLost })
    }

    /// The buffer holds the information (not less) in the information-theoretic space:
    /// Σ log2(d/n_t) per parameter plus the first 32-bit digit (pushed onto an empty buffer, so
    /// nothing popped offsets it), a bit of rounding and the coder's 2^-30 bits a step. That is
    /// well inside the goal of 5 % over Σ log2(d/n_t) plus a constant.
    static func expectNearTheory(_ measured: (peak: Double, theory: Double)) {
        #expect(measured.peak >= measured.theory)
        #expect(measured.peak <= measured.theory + 34)
    }

    @Test func aThousandStepsAtGammaPointNineStoreAboutPointOneFiveBitsPerStep() {
        let measured = Self.peakBits(gammas: Array(repeating: 0.9, count: 1000), count: 1000, seed: 20)
        #expect(abs(measured.theory - 152.0) < 0.1)
        Self.expectNearTheory(measured)
    }

    @Test func aThousandStepsAtGammaOneHalfStoreOneBitPerStep() {
        let measured = Self.peakBits(gammas: Array(repeating: 0.5, count: 1000), count: 1000, seed: 21)
        #expect(measured.theory == 1000)
        Self.expectNearTheory(measured)
    }

    @Test func aVaryingMomentumScheduleStoresTheSumOfItsBitsLost() {
        var rng = SeededGenerator(seed: 22)
        let gammas = (0..<1000).map { _ in Double.random(in: 0.5...0.99, using: &rng) }
        Self.expectNearTheory(Self.peakBits(gammas: gammas, count: 1000, seed: 23))
    }
}
