import Learning

/// The built-in Omniglot tasks of the weight-sharing job: Omniglot's small background set 1
/// (5 alphabets, 136 characters, 15 drawings each, 28×28; `scripts/convert-omniglot.py`), each
/// alphabet once upright and once rotated by 90°, so 10 tasks. Every task is a classification over
/// its alphabet's characters, labels 0..<characters, with `classes` outputs for all (the largest
/// alphabet's count).
///
/// Per character, drawings 0..<12 are for training and validation (re-split per seed) and 12..<15
/// are the test drawings.
public enum OmniglotTasks {
    /// The alphabets, in task order.
    public static var alphabets: [String] { OmniglotData.alphabets }
    /// Pixels per image.
    public static let features = OmniglotData.side * OmniglotData.side
    /// Drawings per character kept for training and validation; the rest are test drawings.
    public static let trainingDrawings = 12
    /// Drawings per character.
    public static let drawings = 15

    /// Outputs of every task's network: the largest alphabet's character count.
    public static var classes: Int { images.map(\.count).max()! }

    /// The characters of each alphabet.
    public static var characterCounts: [Int] { images.map(\.count) }

    /// images[alphabet][character][drawing]: 784 pixels in [0, 1], row-major. Decoded once.
    static let images: [[[[Double]]]] = decode()

    /// The name of task `task` of `alphabets` alphabets (upright first, then rotated).
    public static func taskName(_ task: Int, alphabets count: Int) -> String {
        task < count ? alphabets[task] : "\(alphabets[task - count]) rotated"
    }

    /// Rows of the first `alphabets` alphabets, upright then (if `rotations`) rotated by 90°: per
    /// character the drawings at `drawings` (indices into 0..<15).
    static func rows(alphabets count: Int, rotations: Bool, drawings: (Int) -> [Int]) -> [LabelledRows] {
        precondition(count >= 1 && count <= alphabets.count, "OmniglotTasks: 1...\(alphabets.count) alphabets")
        let upright = (0..<count).map { a in rowsOf(alphabet: a, rotated: false, drawings: drawings) }
        let rotated = rotations ? (0..<count).map { a in rowsOf(alphabet: a, rotated: true, drawings: drawings) } : []
        return upright + rotated
    }

    /// Training and validation rows per task: for each character (and `seed`) a random
    /// `validation` of its first 12 drawings validate, the other 12 − `validation` train.
    public static func split(
        alphabets count: Int, rotations: Bool, validation: Int, seed: UInt64
    ) -> (training: [LabelledRows], validation: [LabelledRows]) {
        precondition(validation >= 1 && validation < trainingDrawings, "OmniglotTasks: 1...11 validation drawings")
        // One permutation per character, shared by its upright and rotated task.
        var random = SplitMix64(seed: seed)
        var permutations: [[Int]] = []
        for a in 0..<count {
            for _ in images[a] {
                var order = Array(0..<trainingDrawings)
                for i in stride(from: order.count - 1, to: 0, by: -1) {
                    order.swapAt(i, random.nextIndex(below: i + 1))
                }
                permutations.append(order)
            }
        }
        // The number of the first character of each alphabet, counting across alphabets.
        let firsts = (0..<count).map { a in images[..<a].reduce(0) { $0 + $1.count } }
        func select(_ range: Range<Int>) -> [LabelledRows] {
            let turns = rotations ? [false, true] : [false]
            return turns.flatMap { rotated in
                (0..<count).map { a in
                    rowsOf(alphabet: a, rotated: rotated, from: firsts[a]) { c in Array(permutations[c][range]) }
                }
            }
        }
        return (select(validation..<trainingDrawings), select(0..<validation))
    }

    /// The 3 test drawings of every character, per task.
    public static func test(alphabets count: Int, rotations: Bool) -> [LabelledRows] {
        rows(alphabets: count, rotations: rotations) { _ in Array(trainingDrawings..<drawings) }
    }

    private static func rowsOf(alphabet a: Int, rotated: Bool, drawings: (Int) -> [Int]) -> LabelledRows {
        rowsOf(alphabet: a, rotated: rotated, from: 0) { c in drawings(c) }
    }

    /// `drawings(first + c)` of character c; `first` numbers characters across alphabets.
    private static func rowsOf(
        alphabet a: Int, rotated: Bool, from first: Int, drawings: (Int) -> [Int]
    ) -> LabelledRows {
        let side = OmniglotData.side
        var inputs: [Double] = []
        var labels: [Int32] = []
        for (c, character) in images[a].enumerated() {
            for d in drawings(first + c) {
                let image = character[d]
                if rotated {
                    // 90° counter-clockwise: out[y][x] = in[x][side − 1 − y].
                    for y in 0..<side {
                        for x in 0..<side { inputs.append(image[x * side + side - 1 - y]) }
                    }
                } else {
                    inputs.append(contentsOf: image)
                }
                labels.append(Int32(c))
            }
        }
        return LabelledRows(inputs: inputs, labels: labels, features: features)
    }

    private static func decode() -> [[[[Double]]]] {
        let text = OmniglotData.encoded
        let bytes = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        let pixels = OmniglotData.side * OmniglotData.side
        var images: [[[[Double]]]] = Array(repeating: [], count: OmniglotData.alphabets.count)
        var rows = 0
        var index = 0
        func digit(_ i: Int) -> Int { Int(bytes[i]) - Int(UInt8(ascii: "0")) }
        while index < bytes.count {
            if bytes[index] == 0x0A || bytes[index] == 0x20 {
                index += 1
                continue
            }
            let alphabet = digit(index), character = 10 * digit(index + 1) + digit(index + 2)
            index += 3
            var image = [Double](repeating: 0, count: pixels)
            var p = 0
            while index < bytes.count && bytes[index] != 0x0A {
                let byte = bytes[index]
                if byte >= UInt8(ascii: "a") {
                    image[p] = Double(byte - UInt8(ascii: "a") + 1) / Double(OmniglotData.levels)
                    p += 1
                } else {
                    p += Int(byte - UInt8(ascii: "A")) + 1
                }
                index += 1
            }
            precondition(p <= pixels, "embedded Omniglot row \(rows) is corrupt")
            if character == images[alphabet].count { images[alphabet].append([]) }
            images[alphabet][character].append(image)
            rows += 1
        }
        precondition(rows == OmniglotData.rows, "embedded Omniglot data are corrupt: \(rows) rows")
        return images
    }
}
