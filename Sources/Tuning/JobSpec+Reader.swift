import JSON

extension JobSpec {
    /// Reads typed fields out of a submitted document, recording one `SpecError` per problem.
    ///
    /// Each read returns the default when the field is absent, the value when it is valid, and nil
    /// when it is invalid (the error is recorded), so that checks depending on it can be skipped
    /// instead of piling spurious errors onto the real one.
    struct Reader {
        private(set) var errors: [SpecError] = []
        /// Element errors reported per array before summarising the rest in one line.
        static let elementErrorCap = 5

        mutating func fail(_ field: String, _ message: String) {
            errors.append(SpecError(field: field, message: message))
        }

        /// `path` extended by one member name, escaped as RFC 6901 requires.
        static func pointer(_ path: String, _ key: String) -> String {
            path + "/" + key.replacing("~", with: "~0").replacing("/", with: "~1")
        }

        /// An object whose members must all be among `fields` (others are "unknown field").
        mutating func object(_ value: JSONValue, at path: String, fields: [String]) -> JSONObject? {
            guard case .object(let object) = value else {
                fail(path, "must be an object, not \(value.kindDescription)")
                return nil
            }
            for key in object.keys where !fields.contains(key) {
                fail(Self.pointer(path, key), "unknown field; allowed: \(fields.joined(separator: ", "))")
            }
            return object
        }

        mutating func integer(
            _ value: JSONValue?, at path: String, in range: ClosedRange<Int>, default fallback: Int
        ) -> Int? {
            guard let value else { return fallback }
            guard case .number(let number) = value else {
                fail(path, "must be an integer, not \(value.kindDescription)")
                return nil
            }
            guard number == number.rounded(.towardZero) else {
                fail(path, "must be an integer")
                return nil
            }
            guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
                fail(path, "must be between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            return Int(number)
        }

        mutating func number(
            _ value: JSONValue?, at path: String, in bounds: Bounds, default fallback: Double
        ) -> Double? {
            guard let value else { return fallback }
            guard case .number(let number) = value else {
                fail(path, "must be a number, not \(value.kindDescription)")
                return nil
            }
            guard bounds.contains(number) else {
                fail(path, bounds.message)
                return nil
            }
            return number
        }

        mutating func bool(_ value: JSONValue?, at path: String, default fallback: Bool) -> Bool? {
            guard let value else { return fallback }
            guard case .bool(let flag) = value else {
                fail(path, "must be true or false, not \(value.kindDescription)")
                return nil
            }
            return flag
        }

        mutating func string(_ value: JSONValue?, at path: String, maxLength: Int) -> String? {
            guard let value else { return nil }
            guard case .string(let string) = value else {
                fail(path, "must be a string, not \(value.kindDescription)")
                return nil
            }
            guard !string.isEmpty, string.count <= maxLength else {
                fail(path, "must be between 1 and \(maxLength) characters long")
                return nil
            }
            return string
        }

        /// One of `allowed` (a string), mapped by `make`.
        mutating func choice<Choice>(
            _ value: JSONValue?, at path: String, allowed: [String], default fallback: Choice,
            make: (String) -> Choice?
        ) -> Choice? {
            guard let value else { return fallback }
            guard case .string(let string) = value, allowed.contains(string), let choice = make(string) else {
                fail(path, "must be one of " + allowed.map { "\"\($0)\"" }.joined(separator: ", "))
                return nil
            }
            return choice
        }

        /// A flat array of numbers within `bounds`, of exactly `count` values when that is known.
        mutating func numbers(
            _ elements: [JSONValue], at path: String, in bounds: Bounds, count: Int?, unit: String
        ) -> [Double]? {
            if let count, elements.count != count {
                fail(path, "must have \(count) \(count == 1 ? "value" : "values") (\(unit)), not \(elements.count)")
                return nil
            }
            var result: [Double] = []
            result.reserveCapacity(elements.count)
            var bad = 0
            for (index, element) in elements.enumerated() {
                let number = element.doubleValue
                if let number, bounds.contains(number) {
                    result.append(number)
                    continue
                }
                bad += 1
                if bad <= Self.elementErrorCap {
                    fail(
                        "\(path)/\(index)",
                        number == nil ? "must be a number, not \(element.kindDescription)" : bounds.message)
                }
            }
            if bad > Self.elementErrorCap {
                fail(path, "\(bad - Self.elementErrorCap) more values are invalid: each \(bounds.message.dropFirst(5))")
            }
            return bad == 0 ? result : nil
        }
    }

    /// An interval with open or closed ends, described the way error messages state limits.
    struct Bounds {
        var lower: Double
        var lowerInclusive: Bool
        var upper: Double
        var upperInclusive: Bool
        var hint: String? = nil

        func contains(_ value: Double) -> Bool {
            (lowerInclusive ? value >= lower : value > lower) && (upperInclusive ? value <= upper : value < upper)
        }

        var message: String {
            let low = JSONValue.number(lower).serializedString(), high = JSONValue.number(upper).serializedString()
            let text =
                switch (lowerInclusive, upperInclusive) {
                case (true, true): "must be between \(low) and \(high)"
                case (false, true): "must be greater than \(low) and at most \(high)"
                case (false, false): "must be strictly between \(low) and \(high)"
                case (true, false): "must be at least \(low) and less than \(high)"
                }
            return hint.map { "\(text) (\($0))" } ?? text
        }
    }
}
