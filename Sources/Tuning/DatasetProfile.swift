import JSON

/// What an upload turned out to hold, told back to the user and kept with the data set: whether
/// its first row was a header, the label values with their counts, whether the labels are sorted,
/// and each feature's range.
///
/// Built row by row (`add(features:label:)`), so it composes with a parser that streams the rows
/// and never needs them all at once; `json()` is the stored and answered form.
public struct DatasetProfile: Sendable, Equatable {
    /// The header row's fields, or nil when the first row was data.
    public var header: [String]?
    /// Rows per label value, indexed by label.
    public private(set) var classCounts: [Int] = []
    /// Per feature: the smallest and largest value.
    public private(set) var minimum: [Double] = []
    public private(set) var maximum: [Double] = []
    public private(set) var rows = 0
    /// Labels seen so far in the order the rows came, as runs: a sorted file has one run per class.
    private var runs = 0
    private var lastLabel: Int32 = -1
    private var nonDecreasing = true

    public init(header: [String]? = nil) {
        self.header = header
    }

    /// Adds one data row.
    public mutating func add(features: some Collection<Double>, label: Int32) {
        if rows == 0 {
            minimum = Array(features)
            maximum = minimum
        } else {
            for (index, value) in features.enumerated() {
                if value < minimum[index] { minimum[index] = value }
                if value > maximum[index] { maximum[index] = value }
            }
        }
        let index = Int(label)
        if index >= classCounts.count { classCounts += Array(repeating: 0, count: index + 1 - classCounts.count) }
        classCounts[index] += 1
        if label != lastLabel {
            runs += 1
            if label < lastLabel { nonDecreasing = false }
            lastLabel = label
        }
        rows += 1
    }

    /// The profile of a whole data set in memory.
    public init(dataset: Dataset, header: [String]? = nil) {
        self.init(header: header)
        for row in 0..<dataset.rows {
            add(
                features: dataset.inputs[(row * dataset.features)..<((row + 1) * dataset.features)],
                label: dataset.labels[row])
        }
    }

    /// Whether the rows are grouped by label: each class in one contiguous run (ascending or not).
    /// Cut in order, such a file puts whole classes in one split and none in another.
    public var labelsSorted: Bool {
        Self.labelsSorted(runs: runs, classes: classCounts.filter { $0 > 0 }.count)
    }

    static func labelsSorted(runs: Int, classes: Int) -> Bool { classes > 1 && runs == classes }

    /// Whether the labels of `labels` come grouped by class (see `labelsSorted`).
    public static func labelsSorted(_ labels: [Int32]) -> Bool {
        var runs = 0, last: Int32 = -1
        var seen = Set<Int32>()
        for label in labels where label != last {
            runs += 1
            last = label
            seen.insert(label)
        }
        return labelsSorted(runs: runs, classes: seen.count)
    }

    /// The largest feature range over the smallest non-zero one: how differently scaled the
    /// features are (1 when they all span the same width).
    public var rangeRatio: Double {
        let widths = zip(minimum, maximum).map { $1 - $0 }.filter { $0 > 0 }
        guard let largest = widths.max(), let smallest = widths.min() else { return 1 }
        return largest / smallest
    }

    public func json() -> JSONValue {
        var object = JSONObject()
        object["header"] = header.map { .array($0.map(JSONValue.string)) } ?? .null
        object["has_header"] = .bool(header != nil)
        object["labels"] = .array(classCounts.indices.filter { classCounts[$0] > 0 }.map { .number(Double($0)) })
        object["class_counts"] = .array(classCounts.map { .number(Double($0)) })
        object["labels_sorted"] = .bool(labelsSorted)
        object["feature_ranges"] = .array(zip(minimum, maximum).map { .array([.number($0), .number($1)]) })
        object["range_ratio"] = .number(rangeRatio)
        return .object(object)
    }
}

extension CSVDatasetParser {
    /// Whether `fields`, a first row that is not all numbers, reads as a header: every field is
    /// there, the label column is a name rather than a number, and no field is a number gone wrong
    /// (`1.5x`, `-3,2`). Anything else is a data row with a mistake, which must not be dropped
    /// silently as a header.
    public static func isPlausibleHeader(_ fields: [String]) -> Bool {
        guard let label = fields.last, !label.isEmpty, Double(label) == nil else { return false }
        return fields.allSatisfy { field in
            guard !field.isEmpty else { return false }
            if Double(field) != nil { return true }  // a numeric column name, as pandas writes
            guard let first = field.unicodeScalars.first else { return false }
            let startsLikeANumber = ("0"..."9").contains(first) || first == "." || first == "-" || first == "+"
            return !startsLikeANumber
        }
    }
}
