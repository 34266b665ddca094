/// A log-linear latency histogram in nanoseconds: exact below 128 ns, then 128 linear buckets per
/// power of two, so every recorded value is known to within 1/128 (0.8%) up to about 17 s.
///
/// HDR-style rather than a sorted sample array: recording is one increment with no allocation, a
/// per-thread histogram is a fixed 28 KiB, and merging 64 of them is a vector add.
struct LatencyHistogram: Sendable, Equatable {
    /// Linear buckets per power of two, as a power of two itself (2^7 = 128).
    static let subBucketBits = 7
    static let subBucketCount = 1 << subBucketBits
    /// Values at or above 2^34 ns (about 17.2 s) are counted in the last bucket; `max` stays exact.
    static let highestExponent = 34
    static let bucketCount = subBucketCount * (highestExponent - subBucketBits + 1)

    private(set) var counts: [UInt64]
    private(set) var count: UInt64 = 0
    /// Sum of the recorded values, for the mean.
    private(set) var totalNanoseconds: UInt64 = 0
    private(set) var minNanoseconds: UInt64 = .max
    private(set) var maxNanoseconds: UInt64 = 0

    init() {
        counts = Array(repeating: 0, count: Self.bucketCount)
    }

    /// The bucket holding `value`: the identity below 128, then (octave, linear step within it).
    static func bucketIndex(_ value: UInt64) -> Int {
        guard value >= UInt64(subBucketCount) else { return Int(value) }
        let clamped = min(value, (1 << UInt64(highestExponent)) - 1)
        let exponent = (63 - clamped.leadingZeroBitCount) - subBucketBits  // >= 0 here
        let subBucket = Int(clamped >> UInt64(exponent))  // in [128, 256)
        return subBucketCount * exponent + subBucket
    }

    /// The smallest and largest value that land in bucket `index`.
    static func bucketRange(_ index: Int) -> ClosedRange<UInt64> {
        precondition(index >= 0 && index < bucketCount, "bucket index \(index) out of range")
        guard index >= 2 * subBucketCount else { return UInt64(index)...UInt64(index) }
        let exponent = index / subBucketCount - 1
        let subBucket = UInt64(index % subBucketCount + subBucketCount)
        let lower = subBucket << UInt64(exponent)
        return lower...(lower + (1 << UInt64(exponent)) - 1)
    }

    mutating func record(nanoseconds value: UInt64) {
        counts[Self.bucketIndex(value)] += 1
        count += 1
        totalNanoseconds &+= value
        minNanoseconds = min(minNanoseconds, value)
        maxNanoseconds = max(maxNanoseconds, value)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices where other.counts[index] != 0 {
            counts[index] += other.counts[index]
        }
        count += other.count
        totalNanoseconds &+= other.totalNanoseconds
        minNanoseconds = min(minNanoseconds, other.minNanoseconds)
        maxNanoseconds = max(maxNanoseconds, other.maxNanoseconds)
    }

    /// The value below or at which a fraction `quantile` of the recorded values lie, reported as
    /// the top of its bucket (so never an underestimate by more than rounding) and clamped to the
    /// exact extremes; nil when nothing was recorded.
    func value(atQuantile quantile: Double) -> UInt64? {
        precondition((0...1).contains(quantile), "quantile \(quantile) outside [0, 1]")
        guard count > 0 else { return nil }
        let rank = max(1, UInt64((quantile * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount != 0 {
            seen += bucketCount
            if seen >= rank {
                return min(max(Self.bucketRange(index).upperBound, minNanoseconds), maxNanoseconds)
            }
        }
        return maxNanoseconds
    }

    var meanNanoseconds: Double? {
        count == 0 ? nil : Double(totalNanoseconds) / Double(count)
    }
}
