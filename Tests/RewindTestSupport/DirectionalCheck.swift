import Learning
import Testing

/// A hypergradient against central differences of whole training runs, along one random direction.
///
/// The reverse pass gives ∂f/∂θ for a whole group θ (a schedule table, the L2 strengths, the init
/// scales, the training images); projected on a random direction r it is one number, ⟨∂f/∂θ, r⟩,
/// which must equal (f(θ + h·r) − f(θ − h·r)) / 2h, each f a whole training run from the same
/// initial weights and batches. Every component counts at once (a wrong one would have to cancel
/// against the others by chance) for the price of two runs. The relative gap is taken against the
/// finite difference: |⟨∂f/∂θ, r⟩ − numeric| / max(|numeric|, 1e-12).
public enum DirectionalCheck {
    /// `count` standard normal draws of `SplitMix64(seed:)`: a random direction.
    public static func direction(_ count: Int, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in generator.nextGaussian() }
    }

    /// The (T, K) table moved by h·r, with r flattened row by row (T·K values).
    public static func moved(_ table: [[Double]], by r: [Double], _ h: Double) -> [[Double]] {
        table.enumerated().map { t, row in
            row.enumerated().map { k, value in value + h * r[t * row.count + k] }
        }
    }

    /// The schedule with its (T, K) table at `path` moved by h·r.
    public static func moved<Schedule>(
        _ schedule: Schedule, _ path: WritableKeyPath<Schedule, [[Double]]>, by r: [Double], _ h: Double
    ) -> Schedule {
        var moved = schedule
        moved[keyPath: path] = Self.moved(schedule[keyPath: path], by: r, h)
        return moved
    }

    /// ⟨analytic, r⟩, the central difference (f(h) − f(−h)) / 2h of `f`, and their relative gap.
    public static func compare(
        analytic: [Double], direction r: [Double], step: Double, _ f: (Double) -> Double
    ) -> (analytic: Double, numeric: Double, relative: Double) {
        precondition(analytic.count == r.count, "DirectionalCheck: the direction has the wrong length")
        let projected = zip(analytic, r).reduce(0) { $0 + $1.0 * $1.1 }
        let numeric = (f(step) - f(-step)) / (2 * step)
        return (projected, numeric, abs(projected - numeric) / max(abs(numeric), 1e-12))
    }

    /// Expects a `compare` result within `tolerance`, naming the group in the failure.
    public static func expect(
        _ label: String, _ result: (analytic: Double, numeric: Double, relative: Double), tolerance: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            result.relative <= tolerance, "\(label): analytic \(result.analytic) vs numeric \(result.numeric)",
            sourceLocation: sourceLocation)
    }

    /// `compare`, then `expect`: ⟨analytic, r⟩ against the central difference of `f` along r.
    public static func expect(
        _ label: String, analytic: [Double], direction r: [Double], step: Double, tolerance: Double,
        sourceLocation: SourceLocation = #_sourceLocation, _ f: (Double) -> Double
    ) {
        expect(
            label, compare(analytic: analytic, direction: r, step: step, f), tolerance: tolerance,
            sourceLocation: sourceLocation)
    }
}
