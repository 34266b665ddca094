import RewindTestSupport
import Testing

@testable import Learning

/// `rewind_rectify` and `rewind_max_pool` (AVX-512) against the Swift loops they stand in for:
/// the same bits, ties, NaN, signed zeros and channel counts off the vector width included.
@Suite("The image layers' vector kernels")
struct ImageKernelTests {
    /// Values with many exact ties (a few distinct magnitudes), ±0, NaN and infinities.
    static func awkwardValues(_ count: Int, seed: UInt64) -> [Double] {
        var random = SeededGenerator(seed: seed)
        let specials: [Double] = [0, -0.0, .nan, .infinity, -.infinity, 1, -1, 0.5]
        return (0..<count).map { _ in
            let u = random.nextUniform()
            if u < 0.3 { return specials[Int(random.next() % UInt64(specials.count))] }
            return (random.nextUniform() * 2 - 1) * 4
        }
    }

    /// The geometry of size × size max pooling (stride size) over `input`.
    static func pooling(_ input: ImageShape, size: Int) throws -> PoolingGeometry {
        let architecture = try NetworkArchitecture(
            inputs: input.count, image: input, layers: [.maxpool(size: size)], classes: 2)
        guard case .maxpool(let g) = architecture.stages[0].operation else {
            preconditionFailure("no max pooling stage")
        }
        return g
    }

    /// The routes a real max pooling of `rows` images of awkward values (ties, ±0, NaN) leaves.
    static func routes(_ g: PoolingGeometry, rows: Int, seed: UInt64) -> [Double] {
        let z = awkwardValues(rows * g.input.count, seed: seed)
        var pooled = [Double](repeating: 0, count: rows * g.output.count), routes = pooled
        z.withUnsafeBufferPointer { z in
            pooled.withUnsafeMutableBufferPointer { p in
                routes.withUnsafeMutableBufferPointer { r in
                    maxPool(z.baseAddress!, into: p.baseAddress!, routes: r.baseAddress!, rows: rows, geometry: g)
                }
            }
        }
        return routes
    }

    @Test(
        "rectify gives the Swift loop's bits", .enabled(if: imageKernelsApply, "no AVX-512 here"),
        arguments: [1, 7, 8, 9, 63, 1000])
    func rectifyMatches(count: Int) {
        let z = Self.awkwardValues(count, seed: UInt64(count))
        func run(_ kernels: Bool) -> [UInt64] {
            var out = [Double](repeating: .nan, count: count + 1)
            z.withUnsafeBufferPointer { z in
                out.withUnsafeMutableBufferPointer { o in
                    rectify(z.baseAddress!, into: o.baseAddress!, count: count, useKernels: kernels)
                }
            }
            return out.map(\.bitPattern)
        }
        #expect(run(true) == run(false))
    }

    @Test(
        "max pooling gives the Swift loop's maxima and routes", .enabled(if: imageKernelsApply, "no AVX-512 here"),
        arguments: [(6, 6, 1, 2), (7, 5, 3, 2), (8, 8, 8, 2), (9, 9, 13, 3), (4, 4, 16, 4), (5, 3, 9, 1)])
    func maxPoolMatches(height: Int, width: Int, channels: Int, size: Int) throws {
        let input = ImageShape(height: height, width: width, channels: channels)
        let g = try Self.pooling(input, size: size)
        let rows = 3
        let x = Self.awkwardValues(rows * input.count, seed: UInt64(height * 100 + channels))
        func run(_ kernels: Bool) -> [UInt64] {
            var out = [Double](repeating: .nan, count: rows * g.output.count + 1), routes = out
            x.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in
                    routes.withUnsafeMutableBufferPointer { r in
                        maxPool(
                            x.baseAddress!, into: o.baseAddress!, routes: r.baseAddress!, rows: rows, geometry: g,
                            useKernels: kernels)
                    }
                }
            }
            return (out + routes).map(\.bitPattern)
        }
        let vector = run(true), scalar = run(false)
        #expect(vector == scalar)
        // Not vacuous: some windows route past their first element.
        let routes = scalar[(rows * g.output.count + 1)...].prefix(rows * g.output.count).map { Double(bitPattern: $0) }
        var firsts: [Double] = []
        for _ in 0..<rows {
            for oy in 0..<g.output.height {
                for ox in 0..<g.output.width {
                    for c in 0..<channels { firsts.append(Double((oy * size * width + ox * size) * channels + c)) }
                }
            }
        }
        #expect(size == 1 ? routes == firsts : routes != firsts)
    }

    @Test(
        "gathering the maxima (with and without relu's φ') gives the Swift loops' bits",
        .enabled(if: imageKernelsApply, "no AVX-512 here"),
        arguments: [(6, 6, 1, 2), (7, 5, 3, 2), (8, 8, 8, 2), (9, 9, 13, 3), (4, 4, 16, 4)])
    func gatherMaximaMatches(height: Int, width: Int, channels: Int, size: Int) throws {
        let input = ImageShape(height: height, width: width, channels: channels)
        let g = try Self.pooling(input, size: size)
        let rows = 3
        // Routes from a real pooling (ties and NaN included), then R{z} and relu outputs with ±0,
        // NaN and infinities at the maxima.
        let routes = Self.routes(g, rows: rows, seed: UInt64(width * 10 + size))
        let x = Self.awkwardValues(rows * input.count, seed: UInt64(height * 7 + channels))
        let a = Self.awkwardValues(rows * input.count, seed: UInt64(channels * 3 + size))
        func run(_ kernels: Bool, relu: Bool) -> [UInt64] {
            var out = [Double](repeating: .nan, count: rows * g.output.count + 1)
            x.withUnsafeBufferPointer { x in
                a.withUnsafeBufferPointer { a in
                    routes.withUnsafeBufferPointer { r in
                        out.withUnsafeMutableBufferPointer { o in
                            if relu {
                                gatherMaxima(
                                    x.baseAddress!, routes: r.baseAddress!, activations: a.baseAddress!,
                                    into: o.baseAddress!, rows: rows, geometry: g, useKernels: kernels)
                            } else {
                                gatherMaxima(
                                    x.baseAddress!, routes: r.baseAddress!, into: o.baseAddress!, rows: rows,
                                    geometry: g, useKernels: kernels)
                            }
                        }
                    }
                }
            }
            return out.map(\.bitPattern)
        }
        for relu in [false, true] {
            let vector = run(true, relu: relu), scalar = run(false, relu: relu)
            #expect(vector == scalar, "relu \(relu)")
            // The last slot is beyond the outputs: left alone.
            #expect(Double(bitPattern: vector.last!).isNaN)
        }
        // Not vacuous: relu's φ' zeroes some maxima and keeps others.
        let plain = run(false, relu: false), gated = run(false, relu: true)
        #expect(zip(plain, gated).contains { $0 != $1 } && zip(plain, gated).contains { $0 == $1 })
    }

    @Test(
        "unpooling the maxima (alone, through relu, and two gradients at once) gives the Swift loops' bits",
        .enabled(if: imageKernelsApply, "no AVX-512 here"),
        // (height, width, channels, size, rows): a few small images (scattered in cache), and
        // batches beyond a MiB (written window by window), ragged windows in both.
        arguments: [
            (6, 6, 1, 2, 3), (7, 5, 3, 2, 3), (8, 8, 8, 2, 3), (9, 9, 13, 3, 3), (4, 4, 16, 4, 3), (5, 3, 9, 1, 3),
            (28, 28, 8, 2, 30), (9, 9, 13, 3, 130), (7, 5, 3, 2, 1300),
        ])
    func unpoolMatches(height: Int, width: Int, channels: Int, size: Int, rows: Int) throws {
        let input = ImageShape(height: height, width: width, channels: channels)
        let g = try Self.pooling(input, size: size)
        let routes = Self.routes(g, rows: rows, seed: UInt64(width * 13 + size))
        // Gradients with ±0, NaN and infinities; relu outputs with ties at 0 and NaN.
        let delta = Self.awkwardValues(rows * g.output.count, seed: UInt64(height * 5 + channels))
        let rDelta = Self.awkwardValues(rows * g.output.count, seed: UInt64(height * 11 + channels))
        let a = Self.awkwardValues(rows * input.count, seed: UInt64(channels * 7 + size))
        enum Form { case plain, relu, reluPair }
        func run(_ kernels: Bool, _ form: Form) -> [UInt64] {
            // Stale values everywhere first: every value below must be written.
            var below = [Double](repeating: .nan, count: rows * input.count + 1), below2 = below
            delta.withUnsafeBufferPointer { d in
                rDelta.withUnsafeBufferPointer { d2 in
                    routes.withUnsafeBufferPointer { r in
                        a.withUnsafeBufferPointer { a in
                            below.withUnsafeMutableBufferPointer { o in
                                below2.withUnsafeMutableBufferPointer { o2 in
                                    switch form {
                                    case .plain:
                                        unpoolMaximum(
                                            d.baseAddress!, routes: r.baseAddress!, into: o.baseAddress!, rows: rows,
                                            geometry: g, useKernels: kernels)
                                    case .relu, .reluPair:
                                        unpoolMaximum(
                                            d.baseAddress!, routes: r.baseAddress!, activations: a.baseAddress!,
                                            into: o.baseAddress!, rows: rows, geometry: g,
                                            alongside: form == .reluPair ? (d2.baseAddress!, o2.baseAddress!) : nil,
                                            useKernels: kernels)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (below + (form == .reluPair ? below2 : [])).map(\.bitPattern)
        }
        for form in [Form.plain, .relu, .reluPair] {
            let vector = run(true, form), scalar = run(false, form)
            #expect(vector == scalar, "\(form)")
            // Every value of the images written (no stale NaN left where no maximum lies), the slot
            // past them left alone.
            let values = vector.map { Double(bitPattern: $0) }
            #expect(values[rows * input.count].isNaN)
            #expect(values.filter(\.isNaN).count < values.count / 4)
        }
        // Not vacuous: relu's φ' zeroes some maxima.
        #expect(run(false, .plain) != run(false, .relu))
    }
}
