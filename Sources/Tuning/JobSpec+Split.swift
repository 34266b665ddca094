import JSON

extension JobSpec.Split {
    /// Row counts the contract documents for the built-in digits (1797 rows): 1000 + 797, no test.
    static let contractTrain = 1000
    static let contractValidation = 797

    /// The split with every part a row count, for a data set of `rows` rows.
    ///
    /// Fractions are floored to whole rows. Parts left out default from the data set's size: on a
    /// data set of at least 1797 rows the contract's 1000 training and 797 validation rows and no
    /// test rows; on a smaller one 60 %, 20 % and 20 % of its rows. A default part never takes more
    /// rows than the given parts leave (train first, then validation, then test), so `{"test": 0.2}`
    /// alone still fits; given parts that do not fit are left for `validate(dataset:)` to report.
    ///
    /// On a user's own data (`ownData`) the defaults leave more rows to tune on and always hold some
    /// out: 50 % training, 30 % validation and 20 % test, at most 1000 rows each (on wine's 178
    /// rows: 89, 53 and 35, where 60/20/20 left 35 validation rows to tune on).
    public func resolved(rows: Int, ownData: Bool = false) -> Self {
        guard !unresolved.isEmpty else { return self }
        var split = self
        split.unresolved = [:]
        let small = rows < Self.contractTrain + Self.contractValidation
        let defaults: [Part: Int] =
            ownData
            ? [
                .train: min(rows * 5 / 10, Self.contractTrain),
                .validation: min(rows * 3 / 10, Self.contractTrain),
                .test: min(rows * 2 / 10, Self.contractTrain),
            ]
            : [
                .train: small ? rows * 6 / 10 : Self.contractTrain,
                .validation: small ? rows * 2 / 10 : Self.contractValidation,
                .test: small ? rows * 2 / 10 : 0,
            ]
        for part in Part.allCases {
            if case .fraction(let fraction) = unresolved[part] {
                split[part] = Int((fraction * Double(rows)).rounded(.down))
            }
        }
        for part in Part.allCases where unresolved[part] == .automatic {
            let taken = Part.allCases.filter {
                $0 != part && (unresolved[$0] != .automatic || $0.ordinal < part.ordinal)
            }
            .reduce(0) { $0 + split[$1] }
            split[part] = max(0, min(defaults[part]!, rows - taken))
        }
        return split
    }

    /// Rows of each part, in row order: the row ranges are consecutive, train first.
    public subscript(part: Part) -> Int {
        get {
            switch part {
            case .train: train
            case .validation: validation
            case .test: test
            }
        }
        set {
            switch part {
            case .train: train = newValue
            case .validation: validation = newValue
            case .test: test = newValue
            }
        }
    }

    /// Row ranges of the three parts within the (possibly shuffled) rows.
    public var ranges: (train: Range<Int>, validation: Range<Int>, test: Range<Int>) {
        (0..<train, train..<(train + validation), (train + validation)..<(train + validation + test))
    }

    /// The `split` member of the normalised spec: row counts, or fractions not yet resolved.
    func json(withShuffle: Bool = true) -> JSONValue {
        var object = JSONObject()
        for part in Part.allCases {
            switch unresolved[part] {
            case .fraction(let fraction): object[part.rawValue] = .number(fraction)
            case .automatic: break
            case nil: object[part.rawValue] = .number(Double(self[part]))
            }
        }
        if withShuffle { object["shuffle"] = .bool(shuffle) }
        object["seed"] = .number(Double(seed))
        return .object(object)
    }
}

extension JobSpec.Split.Part {
    var ordinal: Int { Self.allCases.firstIndex(of: self)! }
}

extension JobSpec {
    static func parseSplit(_ value: JSONValue?, reader: inout Reader) -> Split? {
        var split = Split(unresolved: [.train: .automatic, .validation: .automatic, .test: .automatic])
        guard let value else { return split }
        let fields = ["train", "validation", "test", "shuffle", "seed"]
        guard let object = reader.object(value, at: "/split", fields: fields) else { return nil }
        var valid = true
        for part in Split.Part.allCases {
            guard let member = object[part.rawValue] else { continue }
            let path = "/split/\(part.rawValue)"
            let minimum = part == .test ? 0 : 1
            guard case .number(let number) = member else {
                reader.fail(
                    path, "must be a number of rows or a fraction of the data set's rows, not \(member.kindDescription)"
                )
                valid = false
                continue
            }
            if number > 0, number < 1 {
                split.unresolved[part] = .fraction(number)
            } else if number == number.rounded(.towardZero), number >= Double(minimum),
                number <= Double(Limits.splitRows.upperBound)
            {
                split.unresolved[part] = nil
                split[part] = Int(number)
            } else {
                reader.fail(
                    path,
                    "must be a whole number of rows between \(minimum) and \(Limits.splitRows.upperBound), or a fraction of the data set's rows strictly between 0 and 1"
                )
                valid = false
            }
        }
        let shuffle = reader.bool(object["shuffle"], at: "/split/shuffle", default: false)
        let seed = reader.integer(object["seed"], at: "/split/seed", in: Limits.seed, default: 0)
        guard valid, let shuffle, let seed else { return nil }
        split.shuffle = shuffle
        split.seed = UInt64(seed)
        return split
    }

    static func parsePreprocess(_ value: JSONValue?, reader: inout Reader) -> Preprocess? {
        guard let value else { return Preprocess() }
        guard let object = reader.object(value, at: "/preprocess", fields: ["standardize", "mean", "std"]) else {
            return nil
        }
        guard let standardize = reader.bool(object["standardize"], at: "/preprocess/standardize", default: false) else {
            return nil
        }
        var preprocess = Preprocess(standardize: standardize)
        var valid = true
        for (key, bounds) in [("mean", Limits.featureMean), ("std", Limits.featureScale)] {
            guard let member = object[key], member != .null else { continue }
            let path = "/preprocess/\(key)"
            guard standardize else {
                reader.fail(path, "is only allowed with \"standardize\": true")
                valid = false
                continue
            }
            guard let elements = member.arrayValue else {
                reader.fail(path, "must be an array with one number per feature, not \(member.kindDescription)")
                valid = false
                continue
            }
            let numbers = reader.numbers(elements, at: path, in: bounds, count: nil, unit: "one per feature")
            if key == "mean" { preprocess.mean = numbers } else { preprocess.std = numbers }
            if numbers == nil { valid = false }
        }
        if valid, (preprocess.mean == nil) != (preprocess.std == nil) {
            reader.fail(
                "/preprocess",
                "give both \"mean\" and \"std\", or neither (then they are computed from the training rows)")
            valid = false
        }
        return valid ? preprocess : nil
    }
}

extension JobSpec.Preprocess {
    func json(withStandardize: Bool = true) -> JSONValue {
        var object = JSONObject()
        if withStandardize { object["standardize"] = .bool(standardize) }
        object["mean"] = mean.map { JSONValue($0) } ?? .null
        object["std"] = std.map { JSONValue($0) } ?? .null
        return .object(object)
    }
}
