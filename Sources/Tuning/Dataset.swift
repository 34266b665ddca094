import Learning

/// The shape of a dataset, all that spec validation needs to know about it.
public struct DatasetInfo: Sendable, Equatable, Codable {
    public var rows: Int
    public var features: Int
    public var classes: Int

    public init(rows: Int, features: Int, classes: Int) {
        self.rows = rows
        self.features = features
        self.classes = classes
    }
}

/// A classification dataset in memory: feature rows and integer class labels.
public struct Dataset: Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var features: Int
    /// Number of classes: the largest label + 1.
    public var classes: Int
    /// Row-major features.  // (rows, features)
    public var inputs: [Double]
    /// Class label per row, in 0..<classes.  // (rows)
    public var labels: [Int32]
    /// The shape of each row as an image (NHWC, channels fastest), nil for a table.
    public var shape: ImageShape?

    public init(
        name: String, features: Int, classes: Int, inputs: [Double], labels: [Int32], shape: ImageShape? = nil
    ) {
        precondition(
            features > 0 && inputs.count == labels.count * features,
            "dataset shape mismatch: \(inputs.count) inputs for \(labels.count) rows of \(features) features")
        self.name = name
        self.rows = labels.count
        self.features = features
        self.classes = classes
        self.inputs = inputs
        self.labels = labels
        precondition(
            shape.map { $0.count == features } ?? true,
            "dataset shape \(String(describing: shape)) does not hold \(features) features")
        self.shape = shape
    }

    /// The shape a client sees: `[features]` for a table, `[height, width, channels]` for images.
    public var shapeSizes: [Int] { shape.map { [$0.height, $0.width, $0.channels] } ?? [features] }

    /// Sets the image shape from its stored form, `[height, width, channels]`, when it holds a
    /// row (an upload checked that it does); nil or anything else leaves a table.
    public mutating func setImageShape(_ sizes: [Int]?) {
        guard let sizes, sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else { return }
        let image = ImageShape(height: sizes[0], width: sizes[1], channels: sizes[2])
        if image.count == features { shape = image }
    }

    public var info: DatasetInfo { DatasetInfo(rows: rows, features: features, classes: classes) }

    /// Consecutive rows, e.g. the training or validation part of a split; keeps `classes`.
    public func rows(_ range: Range<Int>) -> Dataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        return Dataset(
            name: name, features: features, classes: classes,
            inputs: Array(inputs[(range.lowerBound * features)..<(range.upperBound * features)]),
            labels: Array(labels[range]), shape: shape)
    }

    /// Number of rows with each label.  // (classes)
    public var labelCounts: [Int] {
        var counts = Array(repeating: 0, count: classes)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}
