import Foundation
import Testing

@testable import Tuning

/// The `.npz` reader fed an archive in pieces of any size, as an upload arrives: the same rows,
/// chunks and summary whatever the split, whether `x` comes before `y` (spooled) or after.
@Suite("Reading .npz archives as they arrive")
struct NPZStreamingTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/npz").path

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\(name)")))
    }

    /// The chunks and summary of `archive` fed `pieceBytes` at a time (0: whole).
    static func read(_ archive: [UInt8], pieceBytes: Int) throws -> (chunks: [[UInt8]], summary: String) {
        let reader = NPZDatasetReader(chunkBytes: 256)
        var chunks: [[UInt8]] = []
        try archive.withUnsafeBytes { bytes in
            var offset = 0
            let step = pieceBytes == 0 ? bytes.count : pieceBytes
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                try reader.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) { chunks.append($0) }
                offset = end
            }
        }
        let summary = try reader.finish { chunks.append($0) }
        return (chunks, "\(summary.info) \(summary.imageShape ?? []) \(summary.labelCounts) \(summary.dtypes)")
    }

    @Test(arguments: ["table.npz", "images.npz", "images4.npz"])
    func everySplitOfASavezArchiveGivesTheSameChunks(_ name: String) throws {
        let archive = try Self.fixture(name)
        let whole = try Self.read(archive, pieceBytes: 0)
        #expect(!whole.chunks.isEmpty)
        for piece in [1, 7, 30, 4096] {
            let split = try Self.read(archive, pieceBytes: piece)
            #expect(split.chunks == whole.chunks && split.summary == whole.summary, "\(name) in \(piece)-byte pieces")
        }
    }

    @Test func yBeforeXReadsTheSameRowsAsXBeforeY() throws {
        let x = npy(
            "<f8", "(3, 2)",
            (0..<6).flatMap { withUnsafeBytes(of: (Double($0) / 8).bitPattern.littleEndian, Array.init) })
        let y = npy("<i8", "(3,)", [0, 1, 0].flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) })
        let xFirst = try Self.read(zip([("x.npy", x), ("y.npy", y)]), pieceBytes: 5)
        let yFirst = try Self.read(zip([("y.npy", y), ("x.npy", x)]), pieceBytes: 5)
        #expect(xFirst.chunks == yFirst.chunks && xFirst.summary == yFirst.summary)
        #expect(xFirst.summary.contains("[2, 1]"), "\(xFirst.summary)")
    }

    @Test func aTruncatedArchiveAndABadXHeaderAreRefusedWhateverTheSplit() throws {
        let images = try Self.fixture("images.npz")
        for piece in [1, 64] {
            #expect(throws: NPZParseError.self) {
                try Self.read(Array(images.prefix(images.count / 2)), pieceBytes: piece)
            }
            #expect(throws: NPZParseError.self) { try Self.read(try Self.fixture("fortran.npz"), pieceBytes: piece) }
        }
    }

    /// A `.npy` version 1.0 array.
    func npy(_ descr: String, _ shape: String, _ data: [UInt8]) -> [UInt8] {
        var dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + dictionary.utf8.count + 1) % 64 != 0 { dictionary += " " }
        dictionary += "\n"
        let length = dictionary.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
            + Array(dictionary.utf8) + data
    }

    /// Stored members with local headers, then an end-of-central-directory record.
    func zip(_ members: [(String, [UInt8])]) -> [UInt8] {
        func le(_ value: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var out: [UInt8] = []
        for (name, data) in members {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in data {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
            }
            crc ^= 0xFFFF_FFFF
            out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2)
            out += le(Int(crc), 4) + le(data.count, 4) + le(data.count, 4) + le(name.utf8.count, 2) + le(0, 2)
            out += Array(name.utf8) + data
        }
        return out + le(0x0605_4b50, 4) + [UInt8](repeating: 0, count: 18)
    }
}
