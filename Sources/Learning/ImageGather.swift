/// A conv layer's im2col matrix as the product kernels read it, gathered from the layer's input
/// instead of written out: S[(b, oy, ox), (ky, kx, c)] = x̃[b, oy·stride + ky, ox·stride + kx, c]
/// of the input zero-padded by (padTop, padLeft), at offset rowOffsets[(b, oy, ox)] +
/// columnOffsets[(ky, kx, c)] in the padded images. Every product sees the values `imageToColumns`
/// would have written, in the same order, so the sums have the same bits; what is saved is writing
/// and reading back positions × patch values per image (39,200 for LeNet's second conv) where the
/// padded image has 2,592.
///
/// The padded images live in the workspace: the input's (written by the forward pass) and
/// R{input}'s (by the R-forward pass). Their borders are zero from the workspace's allocation on
/// and nothing writes there. A layer without padding ("valid" windows that fit the image) has
/// none: the kernels read its input where it is.
struct ImageGather {
    let geometry: ConvolutionGeometry
    /// (images, paddedCount) each, or nil when the layer needs no padding.
    let padded: UnsafeMutablePointer<Double>?
    let rPadded: UnsafeMutablePointer<Double>?
    /// rowOffsets[b·positions + oy·width + ox]: where window (b, oy, ox) starts.  // (images · positions)
    let rowOffsets: UnsafeMutablePointer<Int64>
    /// columnOffsets[(ky·kernel + kx)·channels + c]: the patch value's place in its window.  // (patch)
    let columnOffsets: UnsafeMutablePointer<Int64>

    /// Fills the tables for `images` images.
    init(
        geometry g: ConvolutionGeometry, padded: UnsafeMutablePointer<Double>?, rPadded: UnsafeMutablePointer<Double>?,
        rowOffsets: UnsafeMutablePointer<Int64>, columnOffsets: UnsafeMutablePointer<Int64>, images: Int
    ) {
        (geometry, self.padded, self.rPadded, self.rowOffsets, self.columnOffsets) = (
            g, padded, rPadded, rowOffsets, columnOffsets
        )
        let channels = g.input.channels, width = g.paddedWidth
        let imageValues = padded == nil ? g.input.count : g.paddedCount
        var q = 0
        for b in 0..<images {
            for oy in 0..<g.output.height {
                for ox in 0..<g.output.width {
                    rowOffsets[q] = Int64(b * imageValues + (oy * g.stride * width + ox * g.stride) * channels)
                    q += 1
                }
            }
        }
        var t = 0
        for ky in 0..<g.kernel {
            for kx in 0..<g.kernel {
                for c in 0..<channels {
                    columnOffsets[t] = Int64((ky * width + kx) * channels + c)
                    t += 1
                }
            }
        }
    }

    /// The im2col matrix of `images` (the layer's input, or R{input} when `r`, from image 0 of the
    /// workspace's rows). With `padding`, first copies those images' rows into the padded buffer.
    func matrix(over images: UnsafePointer<Double>, padding part: Range<Int>? = nil, r: Bool = false) -> ColumnMatrix {
        let gather = (rows: UnsafePointer(rowOffsets), columns: UnsafePointer(columnOffsets))
        guard let target = r ? rPadded : padded else {
            return ColumnMatrix(base: images, width: geometry.patch, gather: gather)
        }
        if let part { pad(images, rows: part, into: target) }
        return ColumnMatrix(base: target, width: geometry.patch, gather: gather)
    }

    /// Copies each image row of the images in `part` inside the zero border.
    private func pad(_ images: UnsafePointer<Double>, rows part: Range<Int>, into target: UnsafeMutablePointer<Double>)
    {
        let g = geometry, run = g.input.width * g.input.channels
        for b in part {
            let source = images + b * g.input.count, image = target + b * g.paddedCount
            for y in 0..<g.input.height {
                (image + ((y + g.padTop) * g.paddedWidth + g.padLeft) * g.input.channels)
                    .update(from: source + y * run, count: run)
            }
        }
    }
}

/// A layer's input as the A of its products: a dense layer's input (B, fanIn), a conv layer's
/// im2col matrix S (B · positions, patch) written out, or one gathered (`ImageGather`).
struct ColumnMatrix {
    let base: UnsafePointer<Double>
    /// Row stride of a written-out matrix (unused by a gathered one).
    let width: Int
    let gather: (rows: UnsafePointer<Int64>, columns: UnsafePointer<Int64>)?

    /// S from row `q` on, times B.
    func rows(from q: Int, times b: UnsafePointer<Double>, ldb: Int) -> ShortProducts.Operand {
        guard let gather else { return .init(a: base + q * width, lda: width, b: b, ldb: ldb) }
        return .init(a: base, lda: width, b: b, ldb: ldb, gather: (gather.rows + q, gather.columns))
    }

    /// Rows `part` of Sᵀ (over all of S's rows), times B.
    func transposedRows(_ part: Range<Int>, times b: UnsafePointer<Double>, ldb: Int) -> ShortProducts.Operand {
        guard let gather else {
            return .init(a: base + part.lowerBound, lda: width, b: b, ldb: ldb, aTransposed: true)
        }
        return .init(
            a: base, lda: width, b: b, ldb: ldb, aTransposed: true,
            gather: (gather.rows, gather.columns + part.lowerBound))
    }
}
