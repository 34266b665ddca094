import JSON

extension JobPlots {
    /// What a plot reads of a job's history items, so that a server can read just that: the
    /// members it draws from every item and those it draws from the first and the latest item
    /// only (schedules, learning curves, images). Every item's `meta_iteration`, losses,
    /// validation error, seconds and hypergradient norm (as a one-number `hypergradient`) are
    /// assumed given apart from these: storage keeps them beside each item.
    public struct Reading: Sendable, Equatable {
        /// Members of every item (paths into the item object).
        public var every: [[String]]
        /// Members of the first item (meta-iteration 0).
        public var first: [[String]]
        /// Members of the latest item.
        public var latest: [[String]]

        /// Whether the plot is drawn from the numbers storage keeps beside the items alone.
        public var needsNoItems: Bool { every.isEmpty && first.isEmpty && latest.isEmpty }
    }

    /// What plot `name` of a job with this spec reads of its items.
    public static func reading(name: String, spec: JSONValue) -> Reading {
        let facts = PlotSpec(spec)
        switch name {
        case "loss": return Reading(every: [["test_loss"]], first: [], latest: [])
        case "error": return Reading(every: [["test_error"]], first: [], latest: [])
        case "hypergradient_norm": return Reading(every: [], first: [], latest: [])
        case "learning_curve": return Reading(every: [], first: [["training_curve"]], latest: [["training_curve"]])
        case "learning_rate", "momentum", "beta1", "beta2":
            // A one-segment schedule is drawn across meta-iterations from every item.
            let path = ["hyperparameters", name]
            return Reading(every: [path], first: [path], latest: [path])
        case "l2":
            let path = ["hyperparameters", "l2"]
            // Per-weight images may need the learned rows' width when the data set is unknown.
            let shape = facts.l2Per == "weight" ? [["hyperparameters", "training_data"]] : []
            return Reading(every: [path], first: [path], latest: [path] + shape)
        case "init_scale", "weight_decay":
            let path = ["hyperparameters", name]
            return Reading(every: [path], first: [path], latest: [path])
        case "training_data": return Reading(every: [], first: [], latest: [["hyperparameters", "training_data"]])
        case "filters": return Reading(every: [], first: [], latest: [["first_conv_filters"]])
        case "transforms", "sharing":
            // A weight-sharing job's heat maps: the latest T_l, rows and columns named by its tasks.
            return Reading(every: [], first: [], latest: [["hyperparameters", "transforms"], ["sharing", "tasks"]])
        default: return Reading(every: [], first: [], latest: [])
        }
    }
}
