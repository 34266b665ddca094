import CBufferKernels
import LinearAlgebra

/// Whether `rewind_rectify` and `rewind_max_pool` (AVX-512) run here; elsewhere the Swift loops
/// below, with the same bits.
let imageKernelsApply = rewind_image_kernels_available() != 0

// The image layers' kernels over NHWC rows (one row = one image, channels fastest). Every loop
// runs in a fixed order, so the sums are the same bits whatever the thread count; the products
// go through `ShortProducts` like the dense layers'. Convolution is im2col + GEMM: each output
// position becomes one row of a (positions, kernel·kernel·channels) matrix, so the weights
// (kernel, kernel, channels, filters) multiply it as a plain row-major product.
extension Network {
    /// out ← im2col(x)·W + b for `rows` images; the columns are kept for the backward pass.
    func convolve(
        _ x: UnsafePointer<Double>, columns: UnsafeMutablePointer<Double>, weights: UnsafePointer<Double>,
        biases: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, rows: Int,
        geometry: ConvolutionGeometry
    ) {
        // A block of images at a time, so the product reads the columns im2col has just written
        // from cache (same bits: each output is one dot product whichever rows a GEMM covers).
        let filters = geometry.output.channels, patch = geometry.patch, positions = geometry.positions
        let block = Self.columnBlockImages(geometry)
        for start in stride(from: 0, to: rows, by: block) {
            let count = min(block, rows - start)
            let blockColumns = columns + start * positions * patch
            imageToColumns(x + start * geometry.input.count, into: blockColumns, rows: count, geometry: geometry)
            ShortProducts.run(
                m: count * positions, n: filters, k: patch,
                .init(a: blockColumns, lda: patch, b: weights, ldb: filters), base: .bias(biases),
                into: out + start * positions * filters, ldc: filters)
        }
    }
}

extension Network {
    /// R{out} ← im2col(x)·V + V_b + im2col(R{x})·W for `rows` images (the last term only when
    /// R{x} is given, i.e. above the first layer with parameters); im2col(R{x}) is kept in
    /// `rColumns` for the R-backward pass. A block of images at a time, like `convolve`.
    func rConvolve(
        columns: UnsafePointer<Double>, rInput: UnsafePointer<Double>?, rColumns: UnsafeMutablePointer<Double>,
        weights: UnsafePointer<Double>, direction: UnsafePointer<Double>, directionBiases: UnsafePointer<Double>,
        into rOut: UnsafeMutablePointer<Double>, rows: Int, geometry: ConvolutionGeometry
    ) {
        let filters = geometry.output.channels, patch = geometry.patch, positions = geometry.positions
        let block = Self.columnBlockImages(geometry)
        for start in stride(from: 0, to: rows, by: block) {
            let count = min(block, rows - start), offset = start * positions * patch
            let out = rOut + start * positions * filters
            let viaDirection = ShortProducts.Operand(a: columns + offset, lda: patch, b: direction, ldb: filters)
            var viaInput: ShortProducts.Operand?
            if let rInput {
                imageToColumns(
                    rInput + start * geometry.input.count, into: rColumns + offset, rows: count, geometry: geometry)
                viaInput = .init(a: rColumns + offset, lda: patch, b: weights, ldb: filters)
            }
            ShortProducts.run(
                m: count * positions, n: filters, k: patch, viaDirection, plus: viaInput, base: .bias(directionBiases),
                into: out, ldc: filters)
        }
    }

    /// Images in one block of `backpropagateColumns`: its column gradient, (block · positions,
    /// patch), stays within about 1 MiB, inside one core's L2 cache.
    static let columnBlockValues = 1 << 17

    /// Images per block of `backpropagateColumns` (and of `convolve`, `rConvolve`) for a layer.
    static func columnBlockImages(_ g: ConvolutionGeometry) -> Int {
        max(1, columnBlockValues / (g.positions * g.patch))
    }

    /// below ← col2im(δ·Wᵀ + δ₂·W₂ᵀ) for the images in `images` (the second product when given):
    /// ∂L/∂input of a conv layer, or its R-pass with (R{δ}, W) and (δ, V). δ: (batch · positions,
    /// filters). A range that starts at a whole block (`inputRowCut`) makes the calls a whole batch
    /// would make for those images.
    ///
    /// One block of images at a time, so the column gradient is written, added to and summed back
    /// onto the pixels while it is in cache instead of streaming a whole batch's matrix (31 MB for
    /// LeNet's second conv) through memory three times. The bits are those of whole-batch products:
    /// each element of δ·Wᵀ is one dot product over the filters whichever rows a call covers (the
    /// two-thread passes already split products by rows), and each pixel belongs to one image, so
    /// col2im adds onto it in the same order.
    func backpropagateColumns(
        delta: UnsafePointer<Double>, weights: UnsafePointer<Double>,
        plus second: (delta: UnsafePointer<Double>, weights: UnsafePointer<Double>)?,
        scratch: UnsafeMutablePointer<Double>, into below: UnsafeMutablePointer<Double>, images: Range<Int>,
        geometry g: ConvolutionGeometry
    ) {
        let filters = g.output.channels, patch = g.patch
        let block = Self.columnBlockImages(g)
        for start in stride(from: images.lowerBound, to: images.upperBound, by: block) {
            let count = min(block, images.upperBound - start), m = count * g.positions
            let offset = start * g.positions * filters
            ShortProducts.run(
                m: m, n: patch, k: filters,
                .init(a: delta + offset, lda: filters, b: weights, ldb: filters, transposed: true),
                plus: second.map {
                    .init(a: $0.delta + offset, lda: filters, b: $0.weights, ldb: filters, transposed: true)
                },
                base: .zero, into: scratch, ldc: patch)
            columnsToImage(scratch, into: below + start * g.input.count, rows: count, geometry: g)
        }
    }
}

/// Calls `body(column, pixel, lower, upper)` for every (image, output position, ky) in row order:
/// `column` points at that kernel row's run of kernel·channels values in the (rows · positions,
/// patch) column matrix, run entries lower..<upper come from the images at `pixel` + i (an offset
/// into the (rows, input.count) images, valid for i in that range only), the others lie in the
/// padding. Each pixel is visited at most once per (image, position, ky), so sums over the visits
/// run in row order. Wrapping arithmetic: every index is bounded by the buffers' sizes.
@inline(__always)
private func forEachPatchRow(
    rows: Int, geometry g: ConvolutionGeometry, columns: UnsafeMutablePointer<Double>,
    _ body: (_ column: UnsafeMutablePointer<Double>, _ pixel: Int, _ lower: Int, _ upper: Int) -> Void
) {
    let input = g.input, channels = input.channels, k = g.kernel, run = k &* channels
    let width = input.width, height = input.height, stride = g.stride
    var column = columns
    for b in 0..<rows {
        let image = b &* input.count
        for oy in 0..<g.output.height {
            let top = oy &* stride &- g.padTop
            for ox in 0..<g.output.width {
                let x0 = ox &* stride &- g.padLeft
                // kx inside the image: max(0, −x0)..<min(k, width − x0), as run entries.
                let lower = max(0, 0 &- x0) &* channels, upper = max(lower, min(k, width &- x0) &* channels)
                for ky in 0..<k {
                    let y = top &+ ky
                    if y >= 0 && y < height {
                        body(column, image &+ (y &* width &+ x0) &* channels, lower, upper)
                    } else {
                        body(column, 0, 0, 0)
                    }
                    column += run
                }
            }
        }
    }
}

/// im2col: columns[(b, oy, ox), (ky, kx, c)] = x[b, oy·stride + ky − padTop, ox·stride + kx − padLeft, c],
/// 0 outside the image: one contiguous copy per kernel row.  // (rows · positions, patch)
func imageToColumns(
    _ x: UnsafePointer<Double>, into columns: UnsafeMutablePointer<Double>, rows: Int,
    geometry g: ConvolutionGeometry
) {
    let run = g.kernel * g.input.channels
    // Runs are a few values long (kernel · channels): plain loops, not memmove/memset calls; a run
    // wholly inside the image (most of them) is one straight copy.
    forEachPatchRow(rows: rows, geometry: g, columns: columns) { out, pixel, lower, upper in
        if lower == 0 && upper == run {
            for i in 0..<run { out[i] = x[pixel &+ i] }
            return
        }
        var i = 0
        while i < lower {
            out[i] = 0
            i &+= 1
        }
        while i < upper {
            out[i] = x[pixel &+ i]
            i &+= 1
        }
        while i < run {
            out[i] = 0
            i &+= 1
        }
    }
}

/// col2im, the adjoint of `imageToColumns`: image ← Σ of every column entry onto its pixel, in
/// row order (overwrites `image`).  // (rows, input.count)
func columnsToImage(
    _ columns: UnsafePointer<Double>, into image: UnsafeMutablePointer<Double>, rows: Int,
    geometry g: ConvolutionGeometry
) {
    image.update(repeating: 0, count: rows * g.input.count)
    forEachPatchRow(rows: rows, geometry: g, columns: UnsafeMutablePointer(mutating: columns)) {
        column, pixel, lower, upper in
        var i = lower
        while i < upper {
            image[pixel &+ i] += column[i]
            i &+= 1
        }
    }
}

/// Calls `body(b, outputIndex, inputIndex)` for every window element of every output value, in
/// the fixed order (b, oy, ox, c, dy, dx); indices are within the row.
@inline(__always)
private func forEachWindow(
    rows: Int, geometry g: PoolingGeometry,
    _ body: (_ row: Int, _ output: Int, _ first: Bool, _ input: Int) -> Void
) {
    let input = g.input, output = g.output, channels = input.channels
    for b in 0..<rows {
        for oy in 0..<output.height {
            for ox in 0..<output.width {
                for c in 0..<channels {
                    let o = (oy * output.width + ox) * channels + c
                    for dy in 0..<g.size {
                        for dx in 0..<g.size {
                            let i = ((oy * g.size + dy) * input.width + ox * g.size + dx) * channels + c
                            body(b, o, dy == 0 && dx == 0, i)
                        }
                    }
                }
            }
        }
    }
}

/// out ← z where z > 0, else +0: relu's forward in one pass from its input (conv layers' outputs
/// are large; `Activation.forward` works in place on a copy). It stores no φ': the passes that
/// need it read it off the output (`Network.timesDerivative`), which saves writing a conv layer's
/// whole output a second time. Eight values an instruction where `imageKernelsApply`
/// (`useKernels: false` for the tests).
func rectify(_ z: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, count: Int, useKernels: Bool = true) {
    if useKernels && imageKernelsApply {
        rewind_rectify(z, out, Int64(count))
        return
    }
    for i in 0..<count { out[i] = z[i] > 0 ? z[i] : 0 }
}

/// out ← the maximum of each window; routes ← the index of the first maximum in row-major window
/// order (ties go to the earliest element), which the backward and R passes follow. Eight
/// channels an instruction where `imageKernelsApply` (`useKernels: false` for the tests).
func maxPool(
    _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, routes: UnsafeMutablePointer<Double>,
    rows: Int, geometry g: PoolingGeometry, useKernels: Bool = true
) {
    if useKernels && imageKernelsApply {
        rewind_max_pool(
            x, out, routes, Int64(rows), Int64(g.input.height), Int64(g.input.width), Int64(g.input.channels),
            Int64(g.size))
        return
    }
    let input = g.input, output = g.output, channels = input.channels, size = g.size
    var slot = 0
    for b in 0..<rows {
        let image = x + b * input.count
        for oy in 0..<output.height {
            for ox in 0..<output.width {
                let corner = (oy * size * input.width + ox * size) * channels
                for c in 0..<channels {
                    var best = corner + c, maximum = image[best]
                    for dy in 0..<size {
                        for dx in 0..<size {
                            let i = corner + (dy * input.width + dx) * channels + c
                            if image[i] > maximum {
                                maximum = image[i]
                                best = i
                            }
                        }
                    }
                    out[slot] = maximum
                    routes[slot] = Double(best)
                    slot += 1
                }
            }
        }
    }
}

/// out ← x at each window's recorded maximum (the R-forward of max pooling); with `activations`,
/// times relu's φ' there, read from its output `a` (1 where positive): relu's R-forward then max
/// pooling's, in one pass over the maxima only. Eight outputs an instruction where
/// `imageKernelsApply` (`useKernels: false` for the tests).
func gatherMaxima(
    _ x: UnsafePointer<Double>, routes: UnsafePointer<Double>, activations a: UnsafePointer<Double>? = nil,
    into out: UnsafeMutablePointer<Double>, rows: Int, geometry g: PoolingGeometry, useKernels: Bool = true
) {
    if useKernels && imageKernelsApply {
        rewind_gather_maxima(
            x, routes, a, out, Int64(rows), Int64(g.input.height), Int64(g.input.width), Int64(g.input.channels),
            Int64(g.size))
        return
    }
    let inCount = g.input.count, outCount = g.output.count
    for b in 0..<rows {
        for o in 0..<outCount {
            let r = b * inCount + Int(routes[b * outCount + o])
            out[b * outCount + o] = a.map { x[r] * ($0[r] > 0 ? 1 : 0) } ?? x[r]
        }
    }
}

/// The adjoint of `gatherMaxima`: below ← each output gradient at its window's maximum (times
/// relu's φ' there with `activations`: max pooling's backward step and then relu's in one pass),
/// +0 elsewhere. The bits of the separate steps: (0 + δ)·φ' at each maximum, +0·φ' = +0
/// everywhere else (windows do not overlap). With `second`, the same for a second gradient over
/// the same maxima (the R-backward's R{δ} beside δ) in the same pass. Eight channels an
/// instruction where `imageKernelsApply` (`useKernels: false` for the tests); elsewhere zeroed,
/// then the maxima scattered.
func unpoolMaximum(
    _ gradient: UnsafePointer<Double>, routes: UnsafePointer<Double>, activations a: UnsafePointer<Double>? = nil,
    into below: UnsafeMutablePointer<Double>, rows: Int, geometry g: PoolingGeometry,
    alongside second: (gradient: UnsafePointer<Double>, below: UnsafeMutablePointer<Double>)? = nil,
    useKernels: Bool = true
) {
    if useKernels && imageKernelsApply {
        rewind_unpool_maxima(
            gradient, second?.gradient, routes, a, below, second?.below, Int64(rows), Int64(g.input.height),
            Int64(g.input.width), Int64(g.input.channels), Int64(g.size))
        return
    }
    let inCount = g.input.count, outCount = g.output.count
    for (gradient, below) in [(gradient, below)] + (second.map { [$0] } ?? []) {
        below.update(repeating: 0, count: rows * inCount)
        for b in 0..<rows {
            for o in 0..<outCount {
                let r = b * inCount + Int(routes[b * outCount + o])
                let value = 0 + gradient[b * outCount + o]
                below[r] = a.map { value * ($0[r] > 0 ? 1 : 0) } ?? value
            }
        }
    }
}

/// out ← the mean of each window (sum in window order, divided by size²).
func averagePool(
    _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, rows: Int, geometry g: PoolingGeometry
) {
    let inCount = g.input.count, outCount = g.output.count, area = Double(g.size * g.size)
    let last = g.size * g.size
    var seen = 0
    forEachWindow(rows: rows, geometry: g) { b, o, first, i in
        let slot = b * outCount + o
        if first {
            out[slot] = x[b * inCount + i]
            seen = 1
        } else {
            out[slot] += x[b * inCount + i]
            seen += 1
        }
        if seen == last { out[slot] /= area }
    }
}

/// The adjoint of `averagePool`: each output gradient / size² onto every element of its window.
func unpoolAverage(
    _ gradient: UnsafePointer<Double>, into below: UnsafeMutablePointer<Double>, rows: Int, geometry g: PoolingGeometry
) {
    let inCount = g.input.count, outCount = g.output.count, area = Double(g.size * g.size)
    below.update(repeating: 0, count: rows * inCount)
    forEachWindow(rows: rows, geometry: g) { b, o, _, i in
        below[b * inCount + i] += gradient[b * outCount + o] / area
    }
}
