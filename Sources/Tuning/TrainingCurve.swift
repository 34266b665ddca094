import JSON

/// The elementary learning curve of one training run (the paper's Fig. 3, right): the minibatch
/// training loss (with the penalty) against training iteration, as means over windows of
/// `every` consecutive iterations so that a history item stays small however long T is.
public struct TrainingCurve: Sendable, Equatable {
    /// At most this many points are kept.
    public static let maximumPoints = 1000

    /// Iterations per point: point j covers iterations j·every ..< (j+1)·every.
    public var every: Int
    /// Mean minibatch loss of each window.
    public var losses: [Double]

    public init(losses all: [Double]) {
        let every = max(1, (all.count + Self.maximumPoints - 1) / Self.maximumPoints)
        self.every = every
        losses = stride(from: 0, to: all.count, by: every).map { start in
            let window = all[start..<min(all.count, start + every)]
            return window.reduce(0, +) / Double(window.count)
        }
    }

    /// `{"every": k, "losses": [...]}`.
    public func json() -> JSONValue {
        ["every": .number(Double(every)), "losses": JSONValue(losses)]
    }
}
