import Testing

@testable import Learning

/// The AVX2 tanh against the portable Swift lanes it transcribes: every value, both formulas, the
/// seam between them, the clamp, the special values and ragged tails must give the same bits,
/// for the activation and its derivative.
@Suite("Activation kernels")
struct ActivationKernelTests {
    /// Inputs from every population the two formulas and their seams see.
    static func inputs() -> [Double] {
        var generator = SplitMix64(seed: 21)
        var values: [Double] = []
        // Random bit patterns: every binade, subnormals, ±∞ and NaNs.
        for _ in 0..<100_000 {
            values.append(Double(bitPattern: UInt64(truncatingIfNeeded: generator.next())))
        }
        // Where training evaluates, lanes mixing the two formulas.
        for _ in 0..<100_000 { values.append((generator.nextUnit() - 0.5) * 8) }
        for _ in 0..<20_000 { values.append((generator.nextUnit() - 0.5) * 50) }
        // The seam at 0.9, the clamp at 20 and where the result saturates, a few ulps either side.
        for edge in [0.9, 20, 19.1, 0x1p-26, 0x1p-1022] {
            var x = edge
            for _ in 0..<8 { x = x.nextDown }
            for _ in 0..<16 {
                values += [x, -x]
                x = x.nextUp
            }
        }
        values += [0, -0.0, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        return values
    }

    @Test(arguments: [0, 1, 2, 3])
    func theAVX2TanhGivesThePortableBits(tail: Int) throws {
        try #require(Activation.vectorTanhAvailable, "this CPU has no AVX2: only the portable tanh runs")
        let values = Self.inputs().dropLast(tail)
        let count = values.count
        var z = Array(values), derivative = Array(repeating: 0.0, count: count)
        var expectedZ = Array(values), expectedDerivative = Array(repeating: 0.0, count: count)
        z.withUnsafeMutableBufferPointer { z in
            derivative.withUnsafeMutableBufferPointer { d in
                Activation.vectorTanh(z.baseAddress!, derivative: d.baseAddress!, count: count)
            }
        }
        expectedZ.withUnsafeMutableBufferPointer { z in
            expectedDerivative.withUnsafeMutableBufferPointer { d in
                Activation.portableTanh(z.baseAddress!, derivative: d.baseAddress!, count: count)
            }
        }
        let differing = (0..<count).filter {
            z[$0].bitPattern != expectedZ[$0].bitPattern
                || derivative[$0].bitPattern != expectedDerivative[$0].bitPattern
        }
        #expect(differing.isEmpty, "first differing input: \(differing.first.map { values[$0] } ?? 0)")
    }
}
