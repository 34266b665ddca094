/// The Prometheus text exposition format, version 0.0.4.
extension Metrics {
    /// The `Content-Type` of `render()`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every family in the text format: families sorted by name, series by label values, so two
    /// scrapes of the same state are byte for byte the same.
    public func render() -> String {
        let (families, recorded) = state.withLock { ($0.families, $0.series) }
        var output = ""
        output.reserveCapacity(256 * families.count)
        for name in families.keys.sorted() {
            guard let family = families[name] else { continue }
            output += "# HELP \(name) \(Self.escapeHelp(family.help))\n"
            output += "# TYPE \(name) \(family.kind.rawValue)\n"
            if let collector = family.collector {
                // Called outside the lock: a collector may query the store, and a slow scrape must
                // not hold up the requests being counted meanwhile.
                let samples = collector()
                    .map { (values: Self.labelValues($0.0, for: family), value: $0.1) }
                    .sorted { $0.values.lexicographicallyPrecedes($1.values) }
                for (previous, next) in zip(samples, samples.dropFirst()) {
                    precondition(
                        previous.values != next.values, "collector of \(name) reported labels \(next.values) twice")
                }
                for sample in samples {
                    Self.appendSample(&output, name, family.labelNames, sample.values, value: Self.format(sample.value))
                }
                continue
            }
            let series = (recorded[name] ?? [:]).sorted { $0.key.lexicographicallyPrecedes($1.key) }
            for (values, entry) in series {
                switch entry {
                case .value(let value):
                    Self.appendSample(&output, name, family.labelNames, values, value: Self.format(value))
                case .histogram(let histogram):
                    Self.appendHistogram(&output, family, values, histogram)
                }
            }
        }
        return output
    }

    private static func appendHistogram(
        _ output: inout String, _ family: Family, _ values: [String], _ histogram: Histogram
    ) {
        let bucketLabels = family.labelNames + ["le"]
        var cumulative: UInt64 = 0
        for (index, count) in histogram.counts.enumerated() {
            cumulative += count
            let bound = index < family.buckets.count ? format(family.buckets[index]) : "+Inf"
            appendSample(&output, family.name + "_bucket", bucketLabels, values + [bound], value: String(cumulative))
        }
        appendSample(&output, family.name + "_sum", family.labelNames, values, value: format(histogram.sum))
        appendSample(&output, family.name + "_count", family.labelNames, values, value: String(histogram.count))
    }

    private static func appendSample(
        _ output: inout String, _ name: String, _ labelNames: [String], _ values: [String], value: String
    ) {
        output += name
        if !labelNames.isEmpty {
            output += "{"
            for (index, (label, labelValue)) in zip(labelNames, values).enumerated() {
                if index > 0 { output += "," }
                output += label
                output += "=\""
                output += escapeLabelValue(labelValue)
                output += "\""
            }
            output += "}"
        }
        output += " "
        output += value
        output += "\n"
    }

    /// A sample value: integers without a fraction (`3`, not `3.0`), `+Inf`, `-Inf` and `NaN` as
    /// the format spells them, anything else in Swift's shortest round-tripping form.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabelValue(_ value: String) -> String {
        escape(value, quote: true)
    }

    /// HELP text escapes backslash and line feed only.
    static func escapeHelp(_ text: String) -> String {
        escape(text, quote: false)
    }

    // Over unicode scalars, not characters: "\r\n" is one Character in Swift but its "\n" must
    // still be escaped or the line would break.
    private static func escape(_ text: String, quote: Bool) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\n" || (quote && $0 == "\"") }) else {
            return text
        }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: #"\\"#.unicodeScalars)
            case "\n": escaped.append(contentsOf: #"\n"#.unicodeScalars)
            case "\"" where quote: escaped.append(contentsOf: #"\""#.unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
