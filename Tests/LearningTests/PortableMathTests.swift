import Testing

@testable import Learning

#if canImport(Glibc)
import Glibc
#endif

/// PortableMath against a reference with 11 more bits (x86-64 Float80 libm), over the whole double
/// range: random bit patterns (every binade, subnormals, ±∞, NaN), dense uniform sweeps where
/// training evaluates, the seams between formulas, and the special values.
@Suite("PortableMath")
struct PortableMathTests {
    /// Points per function and population; four populations per function keep the suite at a few
    /// seconds in a debug build while still testing millions of values.
    static let points = 250_000

    @Test("every edge case gives the IEEE answer")
    func specialValues() {
        let nan = Double.nan, inf = Double.infinity, tiny = Double.leastNonzeroMagnitude
        #expect(PortableMath.exp(0.0) == 1 && PortableMath.exp(-0.0) == 1)
        #expect(PortableMath.exp(inf) == inf && PortableMath.exp(-inf) == 0)
        #expect(PortableMath.exp(710) == inf && PortableMath.exp(-746) == 0 && PortableMath.exp(1e308) == inf)
        #expect(PortableMath.exp(-745) > 0 && PortableMath.exp(-745) < 0x1p-1060)  // subnormal, not flushed
        #expect(PortableMath.exp(tiny) == 1 && PortableMath.exp(nan).isNaN)
        #expect(PortableMath.log(1) == 0 && PortableMath.log(1).sign == .plus)
        #expect(PortableMath.log(0.0) == -inf && PortableMath.log(-0.0) == -inf)
        #expect(PortableMath.log(-1).isNaN && PortableMath.log(-inf).isNaN && PortableMath.log(nan).isNaN)
        #expect(PortableMath.log(inf) == inf)
        #expect(abs(PortableMath.log(tiny) - -744.4400719213812) < 1e-12)
        for zero in [0.0, -0.0] {
            #expect(PortableMath.tanh(zero) == zero && PortableMath.tanh(zero).sign == zero.sign)
        }
        #expect(PortableMath.tanh(inf) == 1 && PortableMath.tanh(-inf) == -1 && PortableMath.tanh(nan).isNaN)
        #expect(PortableMath.tanh(1e300) == 1 && PortableMath.tanh(-25) == -1)
        #expect(PortableMath.tanh(tiny) == tiny && PortableMath.tanh(-1e-200) == -1e-200)
        #expect(PortableMath.sigmoid(0) == 0.5 && PortableMath.sigmoid(-0.0) == 0.5)
        #expect(PortableMath.sigmoid(inf) == 1 && PortableMath.sigmoid(-inf) == 0 && PortableMath.sigmoid(nan).isNaN)
        #expect(PortableMath.sigmoid(-800) == 0 && PortableMath.sigmoid(40) == 1)
    }

    @Test("a lane's result does not depend on its neighbours or its position")
    func lanesAreIndependent() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let values = (0..<4).map { _ in (generator.nextUnit() - 0.5) * 4 }
            let vector = PortableMath.Vector(values[0], values[1], values[2], values[3])
            let tanh = PortableMath.tanh(vector), exp = PortableMath.exp(vector)
            let sigmoid = PortableMath.sigmoid(vector), log = PortableMath.log(vector)
            for lane in 0..<4 {
                #expect(tanh[lane].bitPattern == PortableMath.tanh(values[lane]).bitPattern)
                #expect(exp[lane].bitPattern == PortableMath.exp(values[lane]).bitPattern)
                #expect(sigmoid[lane].bitPattern == PortableMath.sigmoid(values[lane]).bitPattern)
                #expect(log[lane].bitPattern == PortableMath.log(values[lane]).bitPattern)
            }
        }
    }

    #if arch(x86_64) && canImport(Glibc)
    @Test("exp is within 2 ulp everywhere")
    func expAccuracy() {
        let worst = Self.worstError(
            populations: [Self.anyBits, Self.uniform(-746, 710), Self.uniform(-30, 0), Self.uniform(-1, 1)],
            ours: PortableMath.exp, reference: { expl($0) })
        #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at \(worst.at)")
    }

    @Test("log is within 2 ulp everywhere")
    func logAccuracy() {
        let worst = Self.worstError(
            populations: [Self.anyBits, Self.positiveBits, Self.uniform(0.5, 2), Self.uniform(1, 10)],
            ours: PortableMath.log, reference: { logl($0) })
        #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at \(worst.at)")
    }

    @Test("tanh is within 2 ulp everywhere, across the seam at 0.9")
    func tanhAccuracy() {
        let worst = Self.worstError(
            populations: [Self.anyBits, Self.uniform(-20, 20), Self.uniform(-1.2, 1.2), Self.uniform(0.85, 0.95)],
            ours: PortableMath.tanh, reference: { tanhl($0) })
        #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at \(worst.at)")
    }

    @Test("sigmoid is within 2 ulp everywhere")
    func sigmoidAccuracy() {
        let worst = Self.worstError(
            populations: [Self.anyBits, Self.uniform(-750, 40), Self.uniform(-40, 40), Self.uniform(-2, 2)],
            ours: PortableMath.sigmoid, reference: { 1 / (1 + expl(-$0)) })
        #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at \(worst.at)")
    }

    @Test("the error measure can fail: single-precision exp is far beyond 2 ulp")
    func controlFails() {
        let worst = Self.worstError(
            populations: [Self.uniform(-1, 1)],
            ours: { x in
                var out = x
                for lane in 0..<4 { out[lane] = Double(Float(PortableMath.exp(x[lane]))) }
                return out
            }, reference: { expl($0) })
        #expect(worst.ulps > 1000)
    }

    /// Random doubles of any bit pattern: every exponent, both signs, subnormals, ±∞ and NaNs.
    static func anyBits(_ g: inout SplitMix64) -> Double { Double(bitPattern: g.next()) }
    /// Random positive doubles of any exponent, subnormals included.
    static func positiveBits(_ g: inout SplitMix64) -> Double { Double(bitPattern: g.next() >> 1) }
    static func uniform(_ low: Double, _ high: Double) -> (inout SplitMix64) -> Double {
        { low + (high - low) * $0.nextUnit() }
    }

    /// The largest |ours − reference| over the populations, in units of the last place of the
    /// correctly rounded double; a NaN or infinity must match the reference exactly.
    static func worstError(
        populations: [(inout SplitMix64) -> Double], ours: (PortableMath.Vector) -> PortableMath.Vector,
        reference: (Float80) -> Float80
    ) -> (ulps: Double, at: Double) {
        var worst = (ulps: 0.0, at: 0.0)
        var generator = SplitMix64(seed: 2026)
        for draw in populations {
            for _ in 0..<(points / 4) {
                let x = PortableMath.Vector(draw(&generator), draw(&generator), draw(&generator), draw(&generator))
                let y = ours(x)
                for lane in 0..<4 {
                    let exact = reference(Float80(x[lane]))
                    let rounded = Double(exact)
                    let error: Double
                    if rounded.isNaN {
                        error = y[lane].isNaN ? 0 : .infinity
                    } else if rounded.isInfinite {
                        // Just past the largest double, returning the largest double is one ulp off.
                        error = y[lane] == rounded || abs(y[lane]) == .greatestFiniteMagnitude ? 0 : .infinity
                    } else if !y[lane].isFinite {
                        error = .infinity
                    } else {
                        error = Double(abs(Float80(y[lane]) - exact) / Float80(rounded.ulp))
                    }
                    if error > worst.ulps || error.isNaN { worst = (error, x[lane]) }
                }
            }
        }
        return worst
    }
    #endif
}
