import RewindTestSupport
import Testing

@testable import Learning

/// The kernels against the specification, the vector kernels against the scalar loops, and the
/// thread split against one call: every path must give the same bits.
@Suite("InformationBuffer kernels")
struct InformationBufferKernelTests {
    @Test(arguments: [false, true])
    func theKernelsFollowTheWordSizeIndependentSpecificationStepByStep(vectorised: Bool) {
        // One parameter per segment, so each segment's storedBits is one coder's bit length.
        var rng = SeededGenerator(seed: 14)
        let count = 24
        let segments = (0..<count).map { $0..<$0 + 1 }
        var values = InformationBufferTests.randomValues(count: count, using: &rng)
        var models = (0..<count).map { _ in SmallWordCoder(wordBits: 32) }
        var modelValues = values.map { Int128($0) }
        let buffer = InformationBuffer(
            segments: segments, vectorised: vectorised && InformationBuffer.vectorKernelsAvailable)
        // Per segment, the factor of each pending multiply and the velocity-like shift after it.
        var pending: [[(factor: RationalFactor, shift: Int64)]] = Array(repeating: [], count: count)
        for _ in 0..<3000 {
            let s = Int.random(in: 0..<count, using: &rng)
            if pending[s].isEmpty || Int.random(in: 0..<3, using: &rng) > 0 {
                let factor = InformationBufferTests.randomFactor(using: &rng)
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
        let original = InformationBufferTests.randomValues(count: 1300, using: &rng)
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
                let factor = InformationBufferTests.randomFactor(using: &rng)
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
        let original = InformationBufferTests.randomValues(count: 1300, using: &rng)
        let factors = (0..<300).map { _ in
            segments.indices.map { _ in InformationBufferTests.randomFactor(using: &rng) }
        }
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
}

/// Values two tasks update in disjoint parts, as the trainer's threads do.
private struct SharedValues: @unchecked Sendable {
    let pointer: UnsafeMutableBufferPointer<Int64>
}
