// tanh and the logistic sigmoid on top of `PortableMath.exp`, with the same guarantees: the same
// bits on every CPU, within 2 ulp of the correctly rounded result, four lanes at a time.
extension PortableMath {
    /// Below this |x| tanh uses its odd polynomial, at and above it 1 − 2/(e^{2|x|} + 1). The
    /// polynomial costs more terms the wider it reaches, the exp form loses accuracy the closer
    /// 2/(e^{2|x|} + 1) comes to 1/2: at 0.9 the exp form's error stays near 1.4 ulp at worst.
    static let tanhPolynomialLimit = 0.9

    /// tanh lane by lane: odd (±0 → ±0), |x| > 19.1 → ±1, ±∞ → ±1, NaN → NaN.
    @inline(__always)
    public static func tanh(_ x: Vector) -> Vector {
        let sign = bits(x) & Bits(repeating: signBit)
        let a = magnitude(x)
        let near = a .< tanhPolynomialLimit
        // Whole vectors usually fall on one side; evaluating one formula then saves half the work
        // and gives the same bits as the blend.
        let result: Vector
        if all(near) {
            result = tanhNearZero(a)
        } else if !any(near) {
            result = tanhAway(a)
        } else {
            result = tanhAway(a).replacing(with: tanhNearZero(a), where: near)
        }
        return vector(bits(result) | sign)
    }

    /// tanh(a) = a + a·s·Q(s), s = a², for 0 ≤ a < 0.9; interpolation error < 0.1·2^-53·a.
    @inline(__always)
    static func tanhNearZero(_ a: Vector) -> Vector {
        let s = a * a
        var q = Vector(repeating: -0x1.f5fd5e537f1c0p-24)
        q = q * s + 0x1.0c032920efec0p-20
        q = q * s - 0x1.27960d9f2ee5dp-18
        q = q * s + 0x1.d680d195123ecp-17
        q = q * s - 0x1.3eab444ae6febp-15
        q = q * s + 0x1.93c8d99be8b7fp-14
        q = q * s - 0x1.f4fe265c2c1f9p-13
        q = q * s + 0x1.354fa65076b81p-11
        q = q * s - 0x1.7da295b09b3cdp-10
        q = q * s + 0x1.d6d3c3556fa2ap-9
        q = q * s - 0x1.226e3513e2b13p-7
        q = q * s + 0x1.664f4880d13c7p-6
        q = q * s - 0x1.ba1ba1ba14dcep-5
        q = q * s + 0x1.11111111110c6p-3
        q = q * s - 0x1.5555555555555p-2
        return a + a * (s * q)
    }

    /// tanh(a) = 1 − 2/(e^{2a} + 1) for a ≥ 0.9 (NaN stays NaN); beyond 20 the result is 1.
    @inline(__always)
    static func tanhAway(_ a: Vector) -> Vector {
        let clamped = a.replacing(with: 20, where: a .> 20)
        let e = exp(clamped + clamped)
        return 1 - 2 / (e + 1)
    }

    /// The logistic function 1/(1 + e^{−x}) lane by lane: ±∞ → 1 and +0, NaN → NaN.
    ///
    /// Written as 1/(1 + u) or u/(1 + u) with u = e^{−|x|} ≤ 1, so nothing overflows and the
    /// tiny values for very negative x keep their relative accuracy.
    @inline(__always)
    public static func sigmoid(_ x: Vector) -> Vector {
        // u = e^{−|x|} = u + uLow to ~100 bits, and 1 + u = d + dLow exactly (Fast2Sum, as
        // 1 ≥ u): dividing by d and correcting to first order in dLow and uLow keeps the roundings
        // of e^{−|x|} and of 1 + u out of the result.
        let (u, uLow) = expParts(-magnitude(x))
        let d = 1 + u
        let dLow = ((1 - d) + u) + uLow
        let reciprocal = 1 / d
        let positive = reciprocal - reciprocal * (dLow * reciprocal)
        let quotient = u / d
        let negative = quotient + (uLow - quotient * dLow) * reciprocal
        return positive.replacing(with: negative, where: x .< 0)
    }

    /// tanh x, the same bits as a lane of `tanh(_: Vector)`.
    public static func tanh(_ x: Double) -> Double { tanh(Vector(repeating: x))[0] }

    /// 1/(1 + e^{−x}), the same bits as a lane of `sigmoid(_: Vector)`.
    public static func sigmoid(_ x: Double) -> Double { sigmoid(Vector(repeating: x))[0] }

    // MARK: Rows

    /// Applies `body` to `count` doubles four at a time: `body` gets the input lanes and stores
    /// whatever it needs through the index of the first lane. The tail is padded with zeros and
    /// only its real lanes are stored, so every element goes through the same lane arithmetic.
    @inline(__always)
    static func forEachVector(
        _ values: UnsafePointer<Double>, count: Int,
        _ body: (_ lanes: Vector, _ start: Int, _ valid: Int) -> Void
    ) {
        var i = 0
        let raw = UnsafeRawPointer(values)
        while i + 4 <= count {
            body(raw.loadUnaligned(fromByteOffset: i * 8, as: Vector.self), i, 4)
            i += 4
        }
        if i < count {
            var tail = Vector()
            for lane in 0..<(count - i) { tail[lane] = values[i + lane] }
            body(tail, i, count - i)
        }
    }

    /// Stores the first `valid` lanes of `lanes` at `destination + start`.
    @inline(__always)
    static func store(_ lanes: Vector, to destination: UnsafeMutablePointer<Double>, at start: Int, valid: Int) {
        if valid == 4 {
            UnsafeMutableRawPointer(destination).storeBytes(of: lanes, toByteOffset: start * 8, as: Vector.self)
        } else {
            for lane in 0..<valid { destination[start + lane] = lanes[lane] }
        }
    }

    /// values[i] ← e^{values[i] − shift} for i < count; returns the sum, added in index order.
    static func exponentiate(_ values: UnsafeMutablePointer<Double>, count: Int, shift: Double) -> Double {
        var sum = 0.0
        forEachVector(values, count: count) { lanes, start, valid in
            let e = exp(lanes - shift)
            store(e, to: values, at: start, valid: valid)
            for lane in 0..<valid { sum += e[lane] }
        }
        return sum
    }
}
