import Foundation

/// An axis: the domain it shows, its ticks and their labels, and the map from values to [0, 1].
///
/// Ticks are "nice" — 1, 2 or 5 times a power of ten — and the domain is widened to the first and
/// last tick, so every data point lies between two labelled ticks.
struct AxisScale: Equatable {
    var lower: Double
    var upper: Double
    var ticks: [Double]
    var labels: [String]
    var logarithmic: Bool

    /// A linear axis over `minimum...maximum` with about `target` ticks; integer steps only when
    /// `integers` (iteration counts).
    static func linear(minimum: Double, maximum: Double, target: Int = 5, integers: Bool = false) -> AxisScale {
        precondition(
            minimum.isFinite && maximum.isFinite && minimum <= maximum, "axis range must be finite and ordered")
        var low = minimum, high = maximum
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
            if integers { (low, high) = (minimum - 1, maximum + 1) }
        }
        var step = NiceStep(covering: (high - low) / Double(max(1, target)))
        if integers, step.value < 1 { step = NiceStep(mantissa: 1, exponent: 0) }
        let first = Int(snapped(low / step.value, .down))
        let last = Int(snapped(high / step.value, .up))
        let ticks = (first...last).map(step.multiple)
        // One spelling for the whole axis: "20000" next to "1e5" would read as a change of units.
        // Scientific for large values or for small ones; a fine step on values near 1 (β2's
        // schedule between 0.99899 and 0.99901) keeps the step's decimals, or every label of
        // three significant digits would read "9.99e-1".
        let magnitude = ticks.map(abs).max() ?? 0
        let scientific = magnitude >= 1e5 || magnitude < 1e-3
        let labels = ticks.map {
            scientific ? Markup.scientific($0) : String(format: "%.*f", max(0, step.decimals), $0)
        }
        return AxisScale(
            lower: ticks[0], upper: ticks[ticks.count - 1], ticks: ticks, labels: labels, logarithmic: false)
    }

    /// A log axis over positive `minimum...maximum`: ticks at powers of ten when the range spans
    /// decades (every second or fifth decade when it spans many), at 1-2-5 steps when it spans
    /// less, and at linear nice steps when even those give fewer than three ticks.
    static func logarithmic(minimum: Double, maximum: Double) -> AxisScale {
        precondition(minimum > 0 && maximum.isFinite && minimum <= maximum, "a log axis needs a positive, finite range")
        var low = minimum, high = maximum
        if low == high { (low, high) = (low / 2, high * 2) }
        let lowDecade = Int(floor(log10(low) + 1e-9))
        let highDecade = Int(ceil(log10(high) - 1e-9))
        let decades = highDecade - lowDecade
        if decades > 3 {
            let stride = decades <= 8 ? 1 : decades <= 16 ? 2 : decades <= 40 ? 5 : 10
            let first = Int(floor(Double(lowDecade) / Double(stride))) * stride
            let last = Int(ceil(Double(highDecade) / Double(stride))) * stride
            let exponents = Swift.stride(from: first, through: last, by: stride).map { $0 }
            let ticks = exponents.map { power10($0) }
            let labels = exponents.map { Markup.tick(power10($0), decimals: max(0, -$0)) }
            return AxisScale(
                lower: ticks[0], upper: ticks[ticks.count - 1], ticks: ticks, labels: labels, logarithmic: true)
        }
        // 1-2-5 within each decade: the largest such value at or below `low` up to the smallest at or above `high`.
        var candidates: [NiceStep] = []
        for exponent in (lowDecade - 1)...(highDecade) {
            for mantissa in [1, 2, 5] { candidates.append(NiceStep(mantissa: mantissa, exponent: exponent)) }
        }
        let firstIndex = candidates.lastIndex { $0.value <= low * (1 + 1e-12) } ?? 0
        let lastIndex = candidates.firstIndex { $0.value >= high * (1 - 1e-12) } ?? candidates.count - 1
        let chosen = Array(candidates[firstIndex...lastIndex])
        if chosen.count >= 3 {
            return AxisScale(
                lower: chosen[0].value, upper: chosen[chosen.count - 1].value, ticks: chosen.map(\.value),
                labels: chosen.map { Markup.tick($0.value, decimals: $0.decimals) }, logarithmic: true)
        }
        var axis = linear(minimum: low, maximum: high)
        if axis.lower <= 0 {
            // A linear nice range may reach zero, which a log axis cannot show: start at the first positive tick.
            let positive = axis.ticks.indices.filter { axis.ticks[$0] > 0 }
            axis.ticks = positive.map { axis.ticks[$0] }
            axis.labels = positive.map { axis.labels[$0] }
            axis.lower = min(axis.ticks.first ?? low, low)
        }
        axis.logarithmic = true
        return axis
    }

    /// `quotient` rounded in `direction`, unless it is within rounding error of a whole number:
    /// 2 / 0.0002 is 9999.999999999998, and its floor must still be 10 000.
    private static func snapped(_ quotient: Double, _ direction: FloatingPointRoundingRule) -> Double {
        let nearest = quotient.rounded()
        if abs(quotient - nearest) <= 1e-9 * max(1, abs(quotient)) { return nearest }
        return quotient.rounded(direction)
    }

    /// Where `value` falls between the ends of the axis, 0 at `lower` and 1 at `upper`.
    func position(_ value: Double) -> Double {
        if logarithmic {
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return (value - lower) / (upper - lower)
    }

    /// Whether a value can be drawn on this axis at all (finite, and positive on a log axis).
    func accepts(_ value: Double) -> Bool {
        value.isFinite && (!logarithmic || value > 0)
    }

    private static func power10(_ exponent: Int) -> Double {
        // Division by an exact power keeps 1e-3 exactly the double nearest 0.001.
        exponent >= 0 ? pow(10, Double(exponent)) : 1 / pow(10, Double(-exponent))
    }
}

/// A step of 1, 2 or 5 times a power of ten, kept as integers so its multiples print exactly.
struct NiceStep: Equatable {
    var mantissa: Int
    var exponent: Int

    init(mantissa: Int, exponent: Int) {
        self.mantissa = mantissa
        self.exponent = exponent
    }

    /// The smallest nice step at least `raw` (positive).
    init(covering raw: Double) {
        let exponent = Int(floor(log10(raw)))
        let residual = raw / pow(10, Double(exponent))
        switch residual {
        case ...1.000_000_001: self.init(mantissa: 1, exponent: exponent)
        case ...2.000_000_001: self.init(mantissa: 2, exponent: exponent)
        case ...5.000_000_001: self.init(mantissa: 5, exponent: exponent)
        default: self.init(mantissa: 1, exponent: exponent + 1)
        }
    }

    var value: Double { multiple(1) }

    /// Digits after the decimal point that its multiples need.
    var decimals: Int { max(0, -exponent) }

    /// `k` times the step, computed as an integer over an exact power of ten so that 3 × 0.1 is 0.3.
    func multiple(_ k: Int) -> Double {
        let integer = Double(k * mantissa)
        return exponent >= 0 ? integer * pow(10, Double(exponent)) : integer / pow(10, Double(-exponent))
    }
}
