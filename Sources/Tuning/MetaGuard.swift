import Foundation

/// Decides whether a meta-step made things much worse, the way reversible learning goes wrong.
///
/// Exact hypergradients stay exact when the inner training turns chaotic, but they stop being
/// informative: the loss is still a smooth-looking function of the learning rate at a coarse
/// scale, while its derivative oscillates with a magnitude many orders above the trend (the paper's
/// Fig. 10; `docs/experiments.md`, "Chaos"). A meta-optimiser that descends the loss from small
/// step sizes walks straight into that regime. The guard rejects an item when
///
/// - its training diverged (a state left the fixed-point range, or a loss is not finite), or
/// - its objective exceeds the last accepted item's by more than the larger of `tolerance` times
///   that objective and `floor` (the loss one example carries: see below), or
/// - its hypergradient norm exceeds the last accepted item's by more than `gradientJump` times.
///
/// Steps are judged against the last accepted item, not the best: with fresh seeds every
/// meta-iteration the best is partly seed luck, and judging every step against a lucky minimum
/// rejects ordinary progress. The last item alone is judged against the best accepted one, and
/// replaced by a re-evaluation of the best when it is worse by more than the tolerance, which is
/// what bounds the end of a job (see `TuningRun.step`).
///
/// The tolerance is relative, but never below the scale of one example: the objective is a mean of
/// cross-entropies over `n` rows, and one row going from a confident right answer to a guess among
/// `K` classes moves it by ln K / n. A purely relative rule breaks down as the loss nears zero: at
/// a validation loss of 3e-4, 25 % is 7.5e-5, far less than the seed-to-seed noise of a single row,
/// and nearly every step was rejected. With the floor, a rise smaller than one row's worth is
/// ordinary noise wherever the loss stands; where `tolerance` × the loss is larger (the loss above
/// ln K / (n · tolerance)) the rule is the relative one, so such jobs run exactly as they did.
struct MetaGuard {
    let settings: JobSpec.Guard
    let objectiveName: String
    /// ln(classes) / rows of the objective's split: the loss one example can move.
    var floor: Double = 0

    /// The floor for an objective averaged over `rows` rows of a `classes`-class problem.
    static func floor(classes: Int, rows: Int) -> Double {
        rows > 0 && classes > 1 ? Foundation.log(Double(classes)) / Double(rows) : 0
    }

    /// The reason to reject an item that trained, or nil to accept it. `reference` is the
    /// objective and item it is judged against; `anchor` the last accepted step.
    func reason(
        objective: Double, gradientNorm: Double?, reference: (value: Double, item: Int, what: String)?,
        anchor: GuardAnchor?
    ) -> String? {
        guard settings.enabled else { return nil }
        if let reference, objective > reference.value + max(settings.tolerance * reference.value, floor) {
            let beyond =
                settings.tolerance * reference.value < floor
                ? "more than \(Self.format(floor)) (one example's share of the loss) above"
                : "more than \(Self.format(settings.tolerance * 100)) % above"
            return "\(objectiveName) \(Self.format(objective)) is \(beyond) "
                + "\(reference.what), \(Self.format(reference.value)) at item \(reference.item)"
        }
        if let gradientNorm, let anchor, anchor.gradientNorm > 0,
            !(gradientNorm <= anchor.gradientNorm * settings.gradientJump)
        {
            return
                "the hypergradient norm \(Self.format(gradientNorm)) is more than \(Self.format(settings.gradientJump)) "
                + "times item \(anchor.metaIteration)'s (\(Self.format(anchor.gradientNorm))): the training has likely turned chaotic"
        }
        return nil
    }

    /// The reason to reject an item whose training diverged, or nil when the guard is off or there
    /// is no accepted point to go back to (then the job fails).
    func reason(diverged error: TuningError, anchor: GuardAnchor?) -> String? {
        guard settings.enabled, anchor != nil, case .diverged(_, let detail) = error else { return nil }
        return "training diverged, \(detail)"
    }

    /// Four significant digits: enough to read a reason, and the same on every platform for the
    /// same double.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        return String(format: "%.4g", value)
    }
}

extension [Double] {
    /// Euclidean norm over the entries where `mask` is true (the learned hyperparameters).
    func norm(mask: [Bool]) -> Double {
        var sum = 0.0
        for index in indices where mask[index] { sum += self[index] * self[index] }
        return sum.squareRoot()
    }
}
