import JSON

/// The plots of an Adam job (`training.optimizer: "adam"`): its learned β1 and β2 schedules (drawn
/// like the momentum schedule, which it does not have) and its decoupled weight decays.
extension JobPlots {
    /// Plots that only one optimiser's jobs have.
    static let adamOnly: Set<String> = ["beta1", "beta2", "weight_decay"]

    /// Whether `spec` is an Adam job's.
    static func isAdam(_ spec: JSONValue) -> Bool { spec["training"]?["optimizer"]?.stringValue == "adam" }

    /// `names` without the other optimiser's plots: SGD jobs keep `momentum`, Adam jobs draw
    /// `beta1`, `beta2` and `weight_decay` in its place.
    static func optimizerPlots(_ names: [String], spec: JSONValue) -> [String] {
        guard isAdam(spec) else { return names.filter { !adamOnly.contains($0) } }
        var adam = names.filter { !adamOnly.contains($0) }
        if let momentum = adam.firstIndex(of: "momentum") {
            adam.replaceSubrange(momentum...momentum, with: ["beta1", "beta2"])
        }
        if let l2 = adam.firstIndex(of: "l2") { adam.insert("weight_decay", at: l2) }
        return adam
    }

    static func adamTitle(of name: String) -> String {
        switch name {
        case "beta1": "β1 schedule (first moment)"
        case "beta2": "β2 schedule (second moment)"
        default: "Decoupled weight decay"
        }
    }

    /// The y-axis of a schedule plot.
    static func scheduleAxis(of key: String) -> String {
        switch key {
        case "learning_rate": "learning rate"
        case "beta1": "β1"
        case "beta2": "β2"
        default: "momentum"
        }
    }

    /// The weight decays against the meta-iteration: one line, or one per weight block; a note
    /// when the job has weight decay off.
    static func weightDecay(_ history: [JSONValue], facts: PlotSpec) -> String {
        if facts.weightDecayPer == "weight" {
            return perWeightSummary(history, key: "weight_decay", yLabel: "weight decay λ")
        }
        let off = history.contains { HistoryValues.vector($0["hyperparameters"]?["weight_decay"])?.isEmpty == true }
        return vectorChart(
            history, values: { HistoryValues.vector($0["hyperparameters"]?["weight_decay"]) }, facts: facts,
            names: { facts.columnNames(count: $0, global: "all weights", blocks: facts.weightBlockNames) },
            title: adamTitle(of: "weight_decay"), yLabel: "weight decay λ",
            subtitle: off ? "off in this job (weight_decay.init 0)" : "AdamW: w ← (1 − α·λ)·w before each step")
    }
}
