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

/// Calls `body(column, pixel)` for every (image, output position, ky, kx) in row order: `column`
/// the offset of that channel run in the (rows · positions, patch) column matrix, `pixel` the
/// offset of the input pixel's channels in the (rows, input.count) images, nil when it lies in the
/// padding.
@inline(__always)
private func forEachPatchPixel(
    rows: Int, geometry g: ConvolutionGeometry, _ body: (_ column: Int, _ pixel: Int?) -> Void
) {
    let input = g.input, channels = input.channels, k = g.kernel
    var column = 0
    for b in 0..<rows {
        for oy in 0..<g.output.height {
            for ox in 0..<g.output.width {
                for ky in 0..<k {
                    let y = oy * g.stride + ky - g.padTop
                    for kx in 0..<k {
                        let x = ox * g.stride + kx - g.padLeft
                        let inside = y >= 0 && y < input.height && x >= 0 && x < input.width
                        body(column, inside ? b * input.count + (y * input.width + x) * channels : nil)
                        column += channels
                    }
                }
            }
        }
    }
}

/// im2col: columns[(b, oy, ox), (ky, kx, c)] = x[b, oy·stride + ky − padTop, ox·stride + kx − padLeft, c],
/// 0 outside the image.  // (rows · positions, patch)
func imageToColumns(
    _ x: UnsafePointer<Double>, into columns: UnsafeMutablePointer<Double>, rows: Int,
    geometry g: ConvolutionGeometry
) {
    let channels = g.input.channels
    forEachPatchPixel(rows: rows, geometry: g) { column, pixel in
        if let pixel {
            (columns + column).update(from: x + pixel, count: channels)
        } else {
            (columns + column).update(repeating: 0, count: channels)
        }
    }
}

/// col2im, the adjoint of `imageToColumns`: image ← Σ of every column entry onto its pixel, in
/// row order (overwrites `image`).  // (rows, input.count)
func columnsToImage(
    _ columns: UnsafePointer<Double>, into image: UnsafeMutablePointer<Double>, rows: Int,
    geometry g: ConvolutionGeometry
) {
    let channels = g.input.channels
    image.update(repeating: 0, count: rows * g.input.count)
    forEachPatchPixel(rows: rows, geometry: g) { column, pixel in
        guard let pixel else { return }
        for c in 0..<channels { image[pixel + c] += columns[column + c] }
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
    let inCount = g.input.count, outCount = g.output.count
    forEachWindow(rows: rows, geometry: g) { b, o, first, i in
        let value = x[b * inCount + i], slot = b * outCount + o
        if first || value > out[slot] {
            out[slot] = value
            routes[slot] = Double(i)
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
    let inCount = g.input.count, outCount = g.output.count
    below.update(repeating: 0, count: rows * inCount)
    for b in 0..<rows {
        for o in 0..<outCount {
            below[b * inCount + Int(routes[b * outCount + o])] += gradient[b * outCount + o]
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
