import JSON

/// The named plots of one job, rendered from its history items and its normalised spec.
///
/// Items are `API.md` history items as JSON, in any order (they are sorted by `meta_iteration`);
/// a job that has written none yet still gets every plot, saying "no data yet".
public enum JobPlots {
    /// The input and output sizes of the job's dataset, needed to draw per-weight L2 penalties of
    /// the input layer as images. The built-in digits (64 features, 10 classes) need none.
    public struct DatasetShape: Sendable, Equatable {
        public var features: Int
        public var classes: Int

        public init(features: Int, classes: Int) {
            self.features = features
            self.classes = classes
        }
    }

    /// Every plot name any job can have, in page order.
    public static let allNames = [
        "loss", "error", "learning_rate", "momentum", "l2", "init_scale", "hypergradient_norm", "training_data",
    ]

    /// The plots that exist for a job with this spec, in page order: all but `training_data`,
    /// which only distillation jobs (`hyperparameters.training_data.learn`) have.
    public static func names(for spec: JSONValue) -> [String] {
        let facts = PlotSpec(spec)
        return allNames.filter { $0 != "training_data" || facts.learnsTrainingData }
    }

    /// The SVG document of plot `name`, or nil when this job has no plot of that name.
    public static func render(name: String, spec: JSONValue, items: [JSONValue], dataset: DatasetShape? = nil) -> String? {
        guard names(for: spec).contains(name) else { return nil }
        let facts = PlotSpec(spec)
        let history = items.enumerated()
            .sorted { (HistoryValues.number($0.element["meta_iteration"]), $0.offset) < (HistoryValues.number($1.element["meta_iteration"]), $1.offset) }
            .map(\.element)
        switch name {
        case "loss": return loss(history)
        case "error": return error(history)
        case "learning_rate": return schedule(history, facts: facts, key: "learning_rate")
        case "momentum": return schedule(history, facts: facts, key: "momentum")
        case "l2": return l2(history, facts: facts, dataset: dataset)
        case "init_scale": return initScale(history, facts: facts)
        case "hypergradient_norm": return hypergradientNorm(history)
        case "training_data": return trainingData(history)
        default: return nil
        }
    }

    /// A human title for each plot name, for captions and alt text.
    public static func title(of name: String) -> String {
        switch name {
        case "loss": "Loss"
        case "error": "Validation error"
        case "learning_rate": "Learning-rate schedule"
        case "momentum": "Momentum schedule"
        case "l2": "L2 penalty"
        case "init_scale": "Initial weight scale"
        case "hypergradient_norm": "Hypergradient norm"
        case "training_data": "Learned training inputs"
        default: name
        }
    }

    static func metaIteration(_ item: JSONValue) -> Double {
        HistoryValues.number(item["meta_iteration"])
    }

    /// A series of one number per item against the meta-iteration.
    static func perItem(_ history: [JSONValue], name: String, colorIndex: Int? = nil, dashed: Bool = false, _ value: (JSONValue) -> Double) -> SVGLineChart.Series {
        SVGLineChart.Series(
            name: name, points: history.map { SVGLineChart.Point(x: metaIteration($0), y: value($0)) },
            colorIndex: colorIndex, dashed: dashed)
    }

    private static func loss(_ history: [JSONValue]) -> String {
        SVGLineChart(
            title: title(of: "loss"), xLabel: "meta-iteration", yLabel: "mean cross-entropy",
            series: [
                perItem(history, name: "training") { HistoryValues.number($0["training_loss"]) },
                perItem(history, name: "validation") { HistoryValues.number($0["validation_loss"]) },
            ],
            integerX: true
        ).render()
    }

    private static func error(_ history: [JSONValue]) -> String {
        SVGLineChart(
            title: title(of: "error"), xLabel: "meta-iteration", yLabel: "fraction misclassified",
            series: [perItem(history, name: "validation", colorIndex: 1) { HistoryValues.number($0["validation_error"]) }],
            integerX: true
        ).render()
    }

    private static func hypergradientNorm(_ history: [JSONValue]) -> String {
        // The final item has no hypergradient: leave it out rather than plot a gap at the end.
        let carrying = history.filter { !($0["hypergradient"]?.isNull ?? true) }
        return SVGLineChart(
            title: title(of: "hypergradient_norm"),
            subtitle: "Euclidean norm over all unconstrained hyperparameters",
            xLabel: "meta-iteration", yLabel: "‖hypergradient‖",
            series: [perItem(carrying, name: "norm", colorIndex: 3) { HistoryValues.sumOfSquares($0["hypergradient"] ?? .null).squareRoot() }],
            logarithmicY: true, integerX: true
        ).render()
    }
}
