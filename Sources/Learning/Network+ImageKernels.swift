import LinearAlgebra

// The image layers' kernels over NHWC rows (one row = one image, channels fastest). Every loop
// runs in a fixed order, so the sums are the same bits whatever the thread count; the products
// go through `BLAS.gemm` like the dense layers'. Convolution is im2col + GEMM: each output
// position becomes one row of a (positions, kernel·kernel·channels) matrix, so the weights
// (kernel, kernel, channels, filters) multiply it as a plain row-major product.
extension Network {
    /// out ← im2col(x)·W + b for `rows` images; the columns are kept for the backward pass.
    func convolve(
        _ x: UnsafePointer<Double>, columns: UnsafeMutablePointer<Double>, weights: UnsafePointer<Double>,
        biases: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, rows: Int,
        geometry: ConvolutionGeometry
    ) {
        imageToColumns(x, into: columns, rows: rows, geometry: geometry)
        let products = rows * geometry.positions, filters = geometry.output.channels
        broadcastRows(biases, into: out, rows: products, cols: filters)
        BLAS.gemm(
            transposeA: false, transposeB: false, m: products, n: filters, k: geometry.patch,
            alpha: 1, a: columns, lda: geometry.patch, b: weights, ldb: filters, beta: 1, c: out, ldc: filters)
    }
}

extension Network {
    /// Images in one block of `backpropagateColumns`: its column gradient, (block · positions,
    /// patch), stays within about 1 MiB, inside one core's L2 cache.
    static let columnBlockValues = 1 << 17

    /// below ← col2im(δ·Wᵀ + δ₂·W₂ᵀ) for `rows` images (the second product when given): ∂L/∂input of
    /// a conv layer, or its R-pass with (R{δ}, W) and (δ, V). δ: (rows · positions, filters).
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
        scratch: UnsafeMutablePointer<Double>, into below: UnsafeMutablePointer<Double>, rows: Int,
        geometry g: ConvolutionGeometry
    ) {
        let filters = g.output.channels, patch = g.patch
        let block = max(1, Self.columnBlockValues / (g.positions * patch))
        for start in stride(from: 0, to: rows, by: block) {
            let count = min(block, rows - start), m = count * g.positions
            let offset = start * g.positions * filters
            BLAS.gemm(
                transposeA: false, transposeB: true, m: m, n: patch, k: filters, alpha: 1, a: delta + offset,
                lda: filters, b: weights, ldb: filters, beta: 0, c: scratch, ldc: patch)
            if let second {
                BLAS.gemm(
                    transposeA: false, transposeB: true, m: m, n: patch, k: filters, alpha: 1,
                    a: second.delta + offset, lda: filters, b: second.weights, ldb: filters, beta: 1, c: scratch,
                    ldc: patch)
            }
            columnsToImage(scratch, into: below + start * g.input.count, rows: count, geometry: g)
        }
    }
}

/// Calls `body(column, pixel, skipBefore, count, skipAfter)` for every (image, output position,
/// ky) in row order: `column` the offset of that kernel row's run of kernel·channels values in the
/// (rows · positions, patch) column matrix, `pixel` the offset in the (rows, input.count) images of
/// the first input value inside the image (nil when the whole kernel row lies in the padding), and
/// how many values of the run fall in the padding before and after the `count` inside. Each pixel
/// is visited at most once per (image, position, ky), so sums over the visits run in row order.
@inline(__always)
private func forEachPatchRow(
    rows: Int, geometry g: ConvolutionGeometry,
    _ body: (_ column: Int, _ pixel: Int?, _ skipBefore: Int, _ count: Int, _ skipAfter: Int) -> Void
) {
    let input = g.input, channels = input.channels, k = g.kernel, run = k * channels
    var column = 0
    for b in 0..<rows {
        for oy in 0..<g.output.height {
            for ox in 0..<g.output.width {
                let x0 = ox * g.stride - g.padLeft
                let first = max(0, -x0), last = min(k, input.width - x0)  // kx inside: first..<last
                for ky in 0..<k {
                    let y = oy * g.stride + ky - g.padTop
                    if y >= 0 && y < input.height && first < last {
                        let inside = (last - first) * channels
                        body(
                            column, b * input.count + (y * input.width + x0 + first) * channels, first * channels,
                            inside, run - first * channels - inside)
                    } else {
                        body(column, nil, run, 0, 0)
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
    // Runs are a few values long (kernel · channels): plain loops, not memmove/memset calls.
    forEachPatchRow(rows: rows, geometry: g) { column, pixel, before, count, after in
        let out = columns + column
        for i in 0..<before { out[i] = 0 }
        if let pixel {
            let source = x + pixel, target = out + before
            for i in 0..<count { target[i] = source[i] }
        }
        let tail = out + before + count
        for i in 0..<after { tail[i] = 0 }
    }
}

/// col2im, the adjoint of `imageToColumns`: image ← Σ of every column entry onto its pixel, in
/// row order (overwrites `image`).  // (rows, input.count)
func columnsToImage(
    _ columns: UnsafePointer<Double>, into image: UnsafeMutablePointer<Double>, rows: Int,
    geometry g: ConvolutionGeometry
) {
    image.update(repeating: 0, count: rows * g.input.count)
    forEachPatchRow(rows: rows, geometry: g) { column, pixel, before, count, _ in
        guard let pixel else { return }
        let source = columns + column + before, target = image + pixel
        for i in 0..<count { target[i] += source[i] }
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

/// out ← the maximum of each window; routes ← the index of the first maximum in row-major window
/// order (ties go to the earliest element), which the backward and R passes follow.
func maxPool(
    _ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>, routes: UnsafeMutablePointer<Double>,
    rows: Int, geometry g: PoolingGeometry
) {
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

/// out ← x at each window's recorded maximum (the R-forward of max pooling).
func gatherMaxima(
    _ x: UnsafePointer<Double>, routes: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
    rows: Int, geometry g: PoolingGeometry
) {
    let inCount = g.input.count, outCount = g.output.count
    for b in 0..<rows {
        for o in 0..<outCount { out[b * outCount + o] = x[b * inCount + Int(routes[b * outCount + o])] }
    }
}

/// The adjoint of `gatherMaxima`: each output gradient goes to its window's maximum, 0 elsewhere.
func unpoolMaximum(
    _ gradient: UnsafePointer<Double>, routes: UnsafePointer<Double>, into below: UnsafeMutablePointer<Double>,
    rows: Int, geometry g: PoolingGeometry
) {
    let input = g.input, output = g.output, channels = input.channels, size = g.size
    // Windows do not overlap (stride = size), so every covered value is written once, with no
    // zeroing pass first: 0 + δ at the maximum (the bits of adding onto zero, −0 included), 0 elsewhere.
    if input.height % size != 0 || input.width % size != 0 {
        below.update(repeating: 0, count: rows * input.count)
    }
    var slot = 0
    for b in 0..<rows {
        let image = below + b * input.count
        for oy in 0..<output.height {
            for ox in 0..<output.width {
                let corner = (oy * size * input.width + ox * size) * channels
                for c in 0..<channels {
                    let route = Int(routes[slot]), value = 0 + gradient[slot]
                    for dy in 0..<size {
                        for dx in 0..<size {
                            let i = corner + (dy * input.width + dx) * channels + c
                            image[i] = i == route ? value : 0
                        }
                    }
                    slot += 1
                }
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
