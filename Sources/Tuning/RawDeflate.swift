import CZlib

/// zlib's raw deflate (no zlib or gzip wrapper), as a ZIP archive's deflated members hold it:
/// what writes a `numpy.savez_compressed`-style archive without NumPy (the upload benchmark).
public enum RawDeflate {
    /// `bytes` compressed at zlib's default level.
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard
            deflateInit2_(
                &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { preconditionFailure("zlib cannot start deflating") }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))))
        let written = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflateBound leaves room for the whole stream")
                return output.count - Int(stream.avail_out)
            }
        }
        out.removeSubrange(written...)
        return out
    }
}
