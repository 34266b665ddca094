import JSON

/// The named plots of one job, rendered from its history items and its normalised spec.
///
/// Items are `docs/api.md` history items as JSON, in any order (they are sorted by `meta_iteration`);
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
        "loss", "error", "learning_curve", "learning_rate", "momentum", "l2", "init_scale", "hypergradient_norm",
        "filters", "training_data", "beta1", "beta2", "weight_decay",
    ]

    /// The plots that exist for a job with this spec, in page order: all but `training_data`,
    /// which only distillation jobs (`hyperparameters.training_data.learn`) have, and `filters`,
    /// which only networks with a conv2d layer have.
    public static func names(for spec: JSONValue) -> [String] {
        if isWeightSharing(spec) { return sharingNames }
        let facts = PlotSpec(spec)
        let convolution = hasConvolution(spec)
        let names = allNames.filter {
            ($0 != "training_data" || facts.learnsTrainingData) && ($0 != "filters" || convolution)
        }
        return optimizerPlots(names, spec: spec)
    }

    /// The SVG document of plot `name`, or nil when this job has no plot of that name.
    public static func render(
        name: String, spec: JSONValue, items: [JSONValue], dataset: DatasetShape? = nil
    ) -> String? {
        guard names(for: spec).contains(name) else { return nil }
        let facts = PlotSpec(spec)
        let history = items.enumerated()
            .sorted {
                (HistoryValues.number($0.element["meta_iteration"]), $0.offset) < (
                    HistoryValues.number($1.element["meta_iteration"]), $1.offset
                )
            }
            .map(\.element)
        switch name {
        case "loss": return loss(history)
        case "error": return error(history)
        case "learning_curve": return learningCurve(history)
        case "learning_rate": return schedule(history, facts: facts, key: "learning_rate")
        case "momentum": return schedule(history, facts: facts, key: "momentum")
        case "l2": return l2(history, facts: facts, dataset: dataset)
        case "init_scale": return initScale(history, facts: facts)
        case "hypergradient_norm": return hypergradientNorm(history)
        case "training_data": return trainingData(history)
        case "filters": return filters(history)
        case "beta1", "beta2": return schedule(history, facts: facts, key: name)
        case "weight_decay": return weightDecay(history, facts: facts)
        case "transforms", "sharing": return sharingTransforms(history, offDiagonal: name == "sharing")
        default: return nil
        }
    }

    /// A human title for each plot name, for captions and alt text.
    public static func title(of name: String) -> String {
        switch name {
        case "loss": "Loss"
        case "error": "Validation error"
        case "learning_curve": "Learning curve"
        case "learning_rate": "Learning-rate schedule"
        case "momentum": "Momentum schedule"
        case "l2": "L2 penalty"
        case "init_scale": "Initial weight scale"
        case "hypergradient_norm": "Hypergradient norm"
        case "training_data": "Learned training inputs"
        case "filters": "First conv layer's filters"
        case "beta1", "beta2", "weight_decay": adamTitle(of: name)
        case "transforms": "Learned transforms T_l"
        case "sharing": "Learned sharing between tasks"
        default: name
        }
    }

    static func metaIteration(_ item: JSONValue) -> Double {
        HistoryValues.number(item["meta_iteration"])
    }

    /// A series of one number per item against the meta-iteration.
    static func perItem(
        _ history: [JSONValue], name: String, colorIndex: Int? = nil, dashed: Bool = false,
        _ value: (JSONValue) -> Double
    ) -> SVGLineChart.Series {
        SVGLineChart.Series(
            name: name, points: history.map { SVGLineChart.Point(x: metaIteration($0), y: value($0)) },
            colorIndex: colorIndex, dashed: dashed)
    }

    /// Whether the job holds out a test split (its items carry a numeric `test_loss`).
    static func hasTest(_ history: [JSONValue]) -> Bool {
        history.contains { $0["test_loss"]?.doubleValue != nil }
    }

    private static func loss(_ history: [JSONValue]) -> String {
        var series = [
            perItem(history, name: "training") { HistoryValues.number($0["training_loss"]) },
            perItem(history, name: "validation") { HistoryValues.number($0["validation_loss"]) },
        ]
        if hasTest(history) {
            series.append(
                perItem(history, name: "test (held out)", colorIndex: 2, dashed: true) {
                    HistoryValues.number($0["test_loss"])
                })
        }
        return SVGLineChart(
            title: title(of: "loss"), xLabel: "meta-iteration", yLabel: "mean cross-entropy", series: series,
            integerX: true
        ).render()
    }

    private static func error(_ history: [JSONValue]) -> String {
        var series = [
            perItem(history, name: "validation", colorIndex: 1) { HistoryValues.number($0["validation_error"]) }
        ]
        if hasTest(history) {
            series.append(
                perItem(history, name: "test (held out)", colorIndex: 2, dashed: true) {
                    HistoryValues.number($0["test_error"])
                })
        }
        return SVGLineChart(
            title: title(of: "error"), xLabel: "meta-iteration", yLabel: "fraction misclassified", series: series,
            integerX: true
        ).render()
    }

    /// The elementary learning curves (the paper's Fig. 3, right): minibatch training loss against
    /// training iteration with the initial hyperparameters (item 0, faint) and the latest ones.
    private static func learningCurve(_ history: [JSONValue]) -> String {
        func curve(_ item: JSONValue, name: String, faint: Bool) -> SVGLineChart.Series? {
            guard let losses = item["training_curve"]?["losses"]?.arrayValue else { return nil }
            let every = HistoryValues.number(item["training_curve"]?["every"])
            let step = every.isFinite && every >= 1 ? every : 1
            let points = losses.enumerated().map { index, loss in
                SVGLineChart.Point(x: (Double(index) + 0.5) * step - 0.5, y: HistoryValues.number(loss))
            }
            return SVGLineChart.Series(name: name, points: points, colorIndex: faint ? 0 : 1, faint: faint)
        }
        var series: [SVGLineChart.Series] = []
        if let first = history.first, history.count > 1,
            let initial = curve(first, name: "meta-iteration 0", faint: true)
        {
            series.append(initial)
        }
        if let last = history.last,
            let latest = curve(last, name: "meta-iteration \(Int(metaIteration(last)))", faint: false)
        {
            series.append(latest)
        }
        return SVGLineChart(
            title: title(of: "learning_curve"),
            subtitle: history.count > 1 ? "latest hyperparameters; faint: the initial ones (meta-iteration 0)" : nil,
            xLabel: "training iteration", yLabel: "minibatch training loss",
            series: series, logarithmicY: true
        ).render()
    }

    private static func hypergradientNorm(_ history: [JSONValue]) -> String {
        // The final item has no hypergradient: leave it out rather than plot a gap at the end.
        let carrying = history.filter { !($0["hypergradient"]?.isNull ?? true) }
        return SVGLineChart(
            title: title(of: "hypergradient_norm"),
            subtitle: "Euclidean norm over all unconstrained hyperparameters",
            xLabel: "meta-iteration", yLabel: "‖hypergradient‖",
            series: [
                perItem(carrying, name: "norm", colorIndex: 3) {
                    HistoryValues.sumOfSquares($0["hypergradient"] ?? .null).squareRoot()
                }
            ],
            logarithmicY: true, integerX: true
        ).render()
    }
}
