import Learning

/// Datasets built in, so a fresh server can run jobs with no uploads: the 8×8 digits compiled into
/// the binary, MNIST read from its file in `data/` (see `MNISTData`).
public enum BuiltinDatasets {
    /// Names a spec may use as `{"dataset": {"name": ...}}`.
    public static let names = ["digits", "mnist"]

    /// The UCI optical digits: 1797 rows of 8×8 pixels scaled from 0...16 to [0, 1], 10 classes;
    /// shaped 8×8×1 for image layers.
    /// Decoded once, on first use.
    public static let digits: Dataset = decodeDigits()

    /// MNIST: 70,000 rows of 28×28 pixels in [0, 1), 10 classes, shaped 28×28×1; rows
    /// 0..<60,000 are the classic training set, 60,000..<70,000 the classic test set.
    /// Decoded once per process, on first use, and shared read-only by every job that names it
    /// (a job copies only the rows its split cuts); nil if its file cannot be found.
    public static let mnist: Dataset? = MNISTData.load()

    /// Rows of `mnist` from the classic training set; the rest are the classic test set.
    public static let mnistTrainingRows = MNISTData.trainingRows

    /// The built-in dataset called `name`, if there is one (decoding it on first use).
    public static func named(_ name: String) -> Dataset? {
        switch name {
        case "digits": digits
        case "mnist": mnist
        default: nil
        }
    }

    /// Rows, features and classes of the built-in `name`, without decoding it.
    public static func info(_ name: String) -> DatasetInfo? {
        switch name {
        case "digits": digits.info
        case "mnist": DatasetInfo(rows: MNISTData.rows, features: MNISTData.pixels, classes: 10)
        default: nil
        }
    }

    /// The image shape of the built-in `name`, without decoding it.
    public static func shape(_ name: String) -> ImageShape? {
        switch name {
        case "digits": digits.shape
        case "mnist": MNISTData.shape
        default: nil
        }
    }

    /// A fixed fingerprint of the built-in's content, for one whose encoded form is too large to
    /// hash on a listing (mnist: the SHA-256 of its decompressed file); nil for the others.
    public static func knownSHA256(_ name: String) -> String? {
        name == "mnist" ? MNISTData.sha256 : nil
    }

    /// Bytes a built-in holds in memory once decoded, shared by every job in the process that
    /// uses it; 0 for the small digits (counted with a job's own rows) and for anything else.
    public static func sharedBytes(of dataset: Dataset) -> Int {
        // The cheap checks first: only a data set that may be mnist reads (or decodes) the built-in.
        guard dataset.name == "mnist", dataset.rows == MNISTData.rows, dataset.features == MNISTData.pixels,
            let mnist
        else { return 0 }
        // The same storage, not merely equal numbers: a copy would be the job's own.
        let shared = dataset.inputs.withUnsafeBufferPointer { mine in
            mnist.inputs.withUnsafeBufferPointer { $0.baseAddress == mine.baseAddress }
        }
        return shared ? 8 * dataset.inputs.count + 4 * dataset.rows : 0
    }

    private static func decodeDigits() -> Dataset {
        let text = DigitsData.encoded
        let rowLength = DigitsData.pixels + 1
        var inputs: [Double] = []
        inputs.reserveCapacity(DigitsData.rows * DigitsData.pixels)
        var labels: [Int32] = []
        labels.reserveCapacity(DigitsData.rows)
        let bytes = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A { index += 1; continue }
            for offset in 0..<DigitsData.pixels {
                inputs.append(Double(bytes[index + offset] - UInt8(ascii: "a")) / 16)
            }
            labels.append(Int32(bytes[index + DigitsData.pixels] - UInt8(ascii: "0")))
            index += rowLength
        }
        precondition(labels.count == DigitsData.rows, "embedded digits are corrupt: \(labels.count) rows")
        return Dataset(
            name: "digits", features: DigitsData.pixels, classes: 10, inputs: inputs, labels: labels,
            shape: ImageShape(height: 8, width: 8, channels: 1))
    }
}
