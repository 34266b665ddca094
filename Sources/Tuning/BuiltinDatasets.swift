import Learning

/// Datasets compiled into the binary, so a fresh server can run jobs with no uploads and no files.
public enum BuiltinDatasets {
    /// Names a spec may use as `{"dataset": {"name": ...}}`.
    public static let names = ["digits"]

    /// The UCI optical digits: 1797 rows of 8×8 pixels scaled from 0...16 to [0, 1], 10 classes;
    /// shaped 8×8×1 for image layers.
    /// Decoded once, on first use.
    public static let digits: Dataset = decodeDigits()

    /// The built-in dataset called `name`, if there is one.
    public static func named(_ name: String) -> Dataset? {
        switch name {
        case "digits": digits
        default: nil
        }
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
