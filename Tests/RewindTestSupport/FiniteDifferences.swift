/// Central finite differences, to check analytic derivatives (gradients, Hessian-vector products,
/// mixed products) against the function they differentiate.
///
/// Central differences have truncation error O(step²) and rounding error O(ε·|f|/step); for smooth
/// functions of order one, a step near 1e-5 makes both about 1e-10. Compare with `relativeError`,
/// which is norm-wise so that tiny components do not dominate.
public enum FiniteDifferences {
    /// ∇f(x) by central differences along each coordinate: 2·x.count evaluations of `f`.
    public static func gradient(of f: ([Double]) -> Double, at x: [Double], step: Double) -> [Double] {
        precondition(step > 0, "FiniteDifferences: step must be positive")
        var point = x
        var result = [Double](repeating: 0, count: x.count)
        for i in x.indices {
            point[i] = x[i] + step
            let forward = f(point)
            point[i] = x[i] - step
            let backward = f(point)
            point[i] = x[i]
            result[i] = (forward - backward) / (2 * step)
        }
        return result
    }

    /// The directional derivative ⟨∇f(x), direction⟩ by one central difference.
    public static func directional(
        of f: ([Double]) -> Double, at x: [Double], along direction: [Double], step: Double
    ) -> Double {
        precondition(step > 0, "FiniteDifferences: step must be positive")
        precondition(x.count == direction.count, "FiniteDifferences: direction has the wrong length")
        let forward = f(displaced(x, along: direction, by: step))
        let backward = f(displaced(x, along: direction, by: -step))
        return (forward - backward) / (2 * step)
    }

    /// The Jacobian-vector product J(x)·direction of a vector function by one central difference.
    ///
    /// With `f` a gradient this is the Hessian-vector product H(x)·direction.
    public static func directional(
        of f: ([Double]) -> [Double], at x: [Double], along direction: [Double], step: Double
    ) -> [Double] {
        precondition(step > 0, "FiniteDifferences: step must be positive")
        precondition(x.count == direction.count, "FiniteDifferences: direction has the wrong length")
        let forward = f(displaced(x, along: direction, by: step))
        let backward = f(displaced(x, along: direction, by: -step))
        precondition(forward.count == backward.count, "FiniteDifferences: f changed its output length")
        return zip(forward, backward).map { ($0 - $1) / (2 * step) }
    }

    /// ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂), or 0 when both are zero.
    public static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "FiniteDifferences: compared vectors differ in length")
        var difference = 0.0, normA = 0.0, normB = 0.0
        for (x, y) in zip(a, b) {
            difference += (x - y) * (x - y)
            normA += x * x
            normB += y * y
        }
        let scale = max(normA, normB).squareRoot()
        return scale == 0 ? 0 : difference.squareRoot() / scale
    }

    /// |a − b| / max(|a|, |b|), or 0 when both are zero.
    public static func relativeError(_ a: Double, _ b: Double) -> Double {
        let scale = max(abs(a), abs(b))
        return scale == 0 ? 0 : abs(a - b) / scale
    }

    private static func displaced(_ x: [Double], along direction: [Double], by step: Double) -> [Double] {
        zip(x, direction).map { $0 + step * $1 }
    }
}
