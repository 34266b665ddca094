import CBufferKernels

/// The coders of one tile handed to a fused C kernel that steps them together with the values
/// they code (Adam's moments: `ReversibleAdam`), and the stack work that follows.
///
/// The kernel does the coder's arithmetic, the same as `multiply` and `divide` do; the buffer
/// keeps its stacks and its accounting, so a buffer stepped by a kernel is, bit for bit and bit
/// count for bit count, the buffer `multiply` and `divide` would have left.
extension InformationBuffer {
    /// Tile `tile` (of `tileWidth` parameters, counted from the start of segment `s`) as a kernel
    /// steps it, flags and counts cleared; `words` has room for a tile's words.
    func kernelTile(segment s: Int, tile: Int, words: UnsafeMutablePointer<UInt32>) -> rewind_coder_tile {
        let (high, low) = coders[s].registers(tile: tile)
        return rewind_coder_tile(high: high, low: low, words: words, flags: (0, 0), length: 0, overflow: 0)
    }

    /// After a kernel's multiply of the tile: the words it emitted pushed, the bits counted.
    func finishMultiply(segment s: Int, tile: Int, _ state: rewind_coder_tile) {
        coders[s].finishMultiply(tile: tile, emitted: state.flags, words: state.words, length: Int(state.length))
    }

    /// After a kernel's divide of the tile: words popped where the states fell below 2^63, the
    /// bits counted. Traps if the kernel's division overflowed (as `divide` does).
    func finishDivide(segment s: Int, tile: Int, _ state: rewind_coder_tile) {
        precondition(state.overflow == 0, "InformationBuffer.divide overflowed: it undoes no multiply")
        coders[s].finishDivide(tile: tile, below: state.flags, length: Int(state.length))
    }
}

extension InformationBuffer.Divisor {
    /// The divisor as the C kernels take it.
    var kernel: rewind_divisor {
        rewind_divisor(numerator: numerator, normalized: normalized, reciprocal: reciprocal, shift: Int64(shift))
    }
}
