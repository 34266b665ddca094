import CZlib
import Foundation
import Learning

/// The built-in MNIST digits, read from `mnist.bin.gz` (written by scripts/convert-mnist.py from
/// the classic `mnist.pkl.gz`): 70,000 images of 28×28 pixels, each pixel a byte k standing for
/// k/256 (exactly the values of that pickle, which is what the paper's code trained on).
///
/// Rows 0..<60,000 are the classic training set (in its original order: the pickle's 50,000
/// training then 10,000 validation images), rows 60,000..<70,000 the classic test set.
enum MNISTData {
    static let rows = 70_000
    static let trainingRows = 60_000
    static let pixels = 784
    static let shape = ImageShape(height: 28, width: 28, channels: 1)
    static let fileName = "mnist.bin.gz"
    static let magic = Array("RWMNIST1".utf8)
    static let headerBytes = 20
    /// SHA-256 of the file's content once decompressed (header, labels and pixels), as the
    /// conversion script prints it: the data set's fingerprint in `GET /v1/datasets`.
    static let sha256 = "a8b459269d668b4ab413bd8d37e670255d02e09a42a5fbe1200663050f973486"

    /// Where the file is looked for, first found wins: `$REWIND_DATA_DIR`, `../share/rewind` beside
    /// the executable (the Docker image's /usr/local/share/rewind), the executable's own directory,
    /// and the checkout this binary was built from (`data/`, for builds and tests in a clone).
    static var candidatePaths: [String] {
        var directories: [String] = []
        if let directory = ProcessInfo.processInfo.environment["REWIND_DATA_DIR"], !directory.isEmpty {
            directories.append(directory)
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            directories.append(executable.appendingPathComponent("../share/rewind").standardized.path)
            directories.append(executable.path)
        }
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../data").standardized.path
        directories.append(checkout)
        return directories.map { $0 + "/" + fileName }
    }

    /// The first candidate path that exists.
    static var path: String? {
        candidatePaths.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// Why the built-in cannot be loaded, for the error a job naming it gets.
    static let missingMessage =
        "the built-in mnist data set needs its file \(fileName) (data/ in the repository); "
        + "set REWIND_DATA_DIR to the directory that holds it"

    /// The decompressed file: header, labels, pixels; nil if missing or not this layout.
    static func readFile(at path: String) -> [UInt8]? {
        guard let file = gzopen(path, "rb") else { return nil }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 18)
        let expected = headerBytes + rows + rows * pixels
        // One byte more than expected, to notice a longer file.
        var bytes = [UInt8](repeating: 0, count: expected + 1)
        var filled = 0
        let complete = bytes.withUnsafeMutableBytes { buffer -> Bool in
            while filled < buffer.count {
                let read = gzread(file, buffer.baseAddress! + filled, UInt32(min(buffer.count - filled, 1 << 24)))
                if read < 0 { return false }
                if read == 0 { break }
                filled += Int(read)
            }
            return true
        }
        guard complete, filled == expected else { return nil }
        bytes.removeLast()
        guard Array(bytes[0..<8]) == magic, bytes.littleEndianUInt32(at: 8) == rows,
            bytes.littleEndianUInt32(at: 12) == trainingRows, bytes.littleEndianUInt32(at: 16) == pixels
        else { return nil }
        return bytes
    }

    /// The data set, pixels k/256 in [0, 1), or nil when the file is missing or damaged.
    static func load() -> Dataset? {
        guard let path, let bytes = readFile(at: path) else { return nil }
        let labelStart = headerBytes
        let pixelStart = headerBytes + rows
        guard bytes[labelStart..<pixelStart].allSatisfy({ $0 < 10 }) else { return nil }
        let labels = bytes[labelStart..<pixelStart].map { Int32($0) }
        let scale = (0..<256).map { Double($0) / 256 }
        let inputs = [Double](unsafeUninitializedCapacity: rows * pixels) { buffer, count in
            bytes.withUnsafeBufferPointer { source in
                scale.withUnsafeBufferPointer { table in
                    for i in 0..<(rows * pixels) { buffer[i] = table[Int(source[pixelStart + i])] }
                }
            }
            count = rows * pixels
        }
        return Dataset(name: "mnist", features: pixels, classes: 10, inputs: inputs, labels: labels, shape: shape)
    }
}
