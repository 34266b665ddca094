import Digest
import Foundation
import HTTPServer
import Storage
import Tuning

/// One upload's file parsed as its bytes arrive and written to storage a chunk at a time: a CSV
/// through `CSVDatasetStream`, a `.npz` through `NPZDatasetReader` (its `x` spooled to an unlinked
/// temporary file when it comes before `y`). What it holds is a chunk in the making and the
/// chunks its last piece sealed, never the body; it hashes the file as it goes.
final class DatasetIntake {
    /// What an upload's parse found, its chunks already stored.
    struct Parsed {
        var info: DatasetInfo
        var sha256: String
        var labelCounts: [Int]
        var encodedBytes: Int
        var profile: DatasetProfile
        /// `[height, width, channels]` from an archive's `N×H×W(×C)` `x`; nil for a table.
        var imageShape: [Int]?
    }

    /// The stored form passed the owner's quota.
    struct QuotaExceeded: Error {}

    private let store: Store
    private let id: String
    private let quotaLeft: Int
    private let chunkBytes: Int
    private(set) var started = false
    private var csv: CSVDatasetStream
    private var npz: NPZDatasetReader?
    private var profile = DatasetProfile()
    private var hasher = SHA256.Hasher()
    private var seq = 0
    /// Bytes of the chunks stored so far.
    private(set) var stored = 0
    /// Whether the file had a line end (a CSV sent with `curl -d` has none).
    private(set) var sawLineEnd = false

    init(store: Store, id: String, quotaLeft: Int, chunkBytes: Int) {
        self.store = store
        self.id = id
        self.quotaLeft = quotaLeft
        self.chunkBytes = chunkBytes
        csv = CSVDatasetStream(chunkBytes: chunkBytes)
    }

    /// The file begins: a `.npz` archive or a CSV.
    func start(archive: Bool) {
        started = true
        if archive { npz = NPZDatasetReader(chunkBytes: chunkBytes, spool: { try FileSpool() }) }
    }

    /// Parses the file's next bytes, storing every chunk they seal.
    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        guard !bytes.isEmpty else { return }
        hasher.update(bytes)
        if let npz {
            try npz.feed(UnsafeRawBufferPointer(bytes), row: { self.profile.add(features: $0, label: $1) }) {
                try self.put($0)
            }
            return
        }
        if !sawLineEnd, memchr(bytes.baseAddress!, 0x0A, bytes.count) != nil { sawLineEnd = true }
        try csv.feed(bytes) { values, label in profile.add(features: values, label: label) }
        while let chunk = csv.takeChunk() { try put(chunk) }
    }

    /// Ends the file: the last rows, the whole checked, the last chunk stored.
    func finish() throws -> Parsed {
        if let npz {
            let summary = try npz.finish(row: { self.profile.add(features: $0, label: $1) }) { try self.put($0) }
            return Parsed(
                info: summary.info, sha256: hasher.finalize(), labelCounts: summary.labelCounts,
                encodedBytes: summary.encodedBytes, profile: profile, imageShape: summary.imageShape)
        }
        let info = try csv.finish { values, label in profile.add(features: values, label: label) }
        while let chunk = csv.takeChunk() { try put(chunk) }
        profile.header = csv.header
        return Parsed(
            info: info, sha256: hasher.finalize(), labelCounts: csv.labelCounts, encodedBytes: csv.encodedBytes,
            profile: profile, imageShape: nil)
    }

    private func put(_ chunk: [UInt8]) throws {
        stored += chunk.count
        guard stored <= quotaLeft else { throw QuotaExceeded() }
        try store.putDatasetChunk(id: id, seq: seq, content: chunk)
        seq += 1
    }
}

/// An unlinked temporary file an `.npz`'s `x` waits in: it holds no memory, and nothing of it is
/// left on disk whatever becomes of the upload (the file is gone once its descriptor closes).
final class FileSpool: NPZSpool {
    struct Failed: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    private let fd: Int32

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/rewind-npz-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failed(call: "mkstemp", code: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
    }

    deinit { close(fd) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failed(call: "write", code: errno)
            }
            offset += written
        }
    }

    func replay(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw Failed(call: "lseek", code: errno) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer.baseAddress!, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw Failed(call: "read", code: errno)
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}
