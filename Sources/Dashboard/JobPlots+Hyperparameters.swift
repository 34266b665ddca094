import Foundation
import JSON

extension JobPlots {
    /// A learned schedule (`learning_rate`, `momentum`, `beta1` or `beta2`) of the latest item against the training
    /// iteration, one line per block, with item 0's schedule faint behind it.
    static func schedule(_ history: [JSONValue], facts: PlotSpec, key: String) -> String {
        let isRate = key == "learning_rate"
        let axis = scheduleAxis(of: key)
        if let probe = history.last(where: { $0["hyperparameters"]?[key]?.arrayValue != nil }),
            HistoryValues.table(probe["hyperparameters"]?[key])?.count == 1
        {
            // One segment is flat over training: draw how its values moved across meta-iterations.
            return vectorChart(
                history, values: { HistoryValues.table($0["hyperparameters"]?[key])?.first }, facts: facts,
                names: { facts.columnNames(count: $0) }, title: title(of: key),
                yLabel: axis,
                subtitle: "constant over training iterations", logarithmicY: isRate)
        }
        // Only the first and the latest schedules are drawn: convert just those two (a long job
        // has many items, each with a segments × blocks table).
        func table(_ index: Int) -> [[Double]]? { HistoryValues.table(history[index]["hyperparameters"]?[key]) }
        let latestIndex = history.lastIndex { $0["hyperparameters"]?[key]?.arrayValue != nil }
        var series: [SVGLineChart.Series] = []
        var subtitle: String?
        if let latestIndex, let latest = table(latestIndex) {
            let latestLabel = Markup.integer(metaIteration(history[latestIndex]))
            subtitle = "meta-iteration \(latestLabel)"
            if latestIndex > 0, let initial = table(0) {
                series += scheduleSeries(initial, facts: facts, faint: true)
                subtitle! += "; faint: meta-iteration \(Markup.integer(metaIteration(history[0]))) (initial)"
            }
            series += scheduleSeries(latest, facts: facts, faint: false)
        }
        let names = Set(series.map(\.name))
        if let layerNames = facts.layerNames, layerNames.allSatisfy({ names.contains("\($0).weights") }) {
            // A network given as layers: one panel per layer with parameters (conv or dense).
            let panels = layerNames.map { layer in
                SVGLineChart(
                    title: layer, xLabel: "training iteration", yLabel: axis,
                    series: series.filter { $0.name == "\(layer).weights" || $0.name == "\(layer).biases" },
                    logarithmicY: isRate, integerX: true, showsMarkers: false, height: 240)
            }
            return SVGPanelGrid(title: title(of: key), subtitle: subtitle, panels: panels).render()
        }
        if facts.layerCount > 3, (1...facts.layerCount).allSatisfy({ names.contains("W\($0)") }) {
            // More than three layers: one panel per layer (its W and b), not a dozen crossing lines.
            let panels = (1...facts.layerCount).map { layer in
                SVGLineChart(
                    title: "layer \(layer)", xLabel: "training iteration",
                    yLabel: axis,
                    series: series.filter { $0.name == "W\(layer)" || $0.name == "b\(layer)" }, logarithmicY: isRate,
                    integerX: true, showsMarkers: false, height: 240)
            }
            return SVGPanelGrid(title: title(of: key), subtitle: subtitle, panels: panels).render()
        }
        return SVGLineChart(
            title: title(of: key), subtitle: subtitle, xLabel: "training iteration",
            yLabel: axis, series: series, logarithmicY: isRate, integerX: true,
            showsMarkers: false
        ).render()
    }

    /// One series per column of a (segments, blocks) table, as steps over 0..<T: each segment
    /// contributes its first and last iteration, which draws the exact step function with at most
    /// two points a segment.
    private static func scheduleSeries(_ table: [[Double]], facts: PlotSpec, faint: Bool) -> [SVGLineChart.Series] {
        let columns = table.map(\.count).max() ?? 0
        let names = facts.columnNames(count: columns)
        return (0..<columns).map { column in
            var points: [SVGLineChart.Point] = []
            for (index, row) in table.enumerated() {
                let range = PlotSpec.segment(index, of: table.count, iterations: facts.iterations)
                guard let first = range.first, let last = range.last else { continue }
                let value = column < row.count ? row[column] : .nan
                points.append(SVGLineChart.Point(x: Double(first), y: value))
                if last > first { points.append(SVGLineChart.Point(x: Double(last), y: value)) }
            }
            let style = PlotSpec.style(of: names[column], column: column)
            return SVGLineChart.Series(
                name: names[column], points: points, colorIndex: style.color, dashed: style.dashed, faint: faint)
        }
    }

    /// L2 strengths against the meta-iteration, one line per weight block (or one global line);
    /// per-weight penalties as images of the input layer instead.
    static func l2(_ history: [JSONValue], facts: PlotSpec, dataset: DatasetShape?) -> String {
        if facts.l2Per == "weight" {
            if let grid = perWeightL2(history, facts: facts, dataset: dataset) { return grid.render() }
            return perWeightSummary(history, key: "l2", yLabel: "L2 strength λ")
        }
        let weightBlocks = facts.weightBlockNames
        return vectorChart(
            history, values: { HistoryValues.vector($0["hyperparameters"]?["l2"]) }, facts: facts,
            names: { facts.columnNames(count: $0, global: "all weights", blocks: weightBlocks) },
            title: title(of: "l2"), yLabel: "L2 strength λ")
    }

    /// Initial scales against the meta-iteration, one line per block (or one global line).
    static func initScale(_ history: [JSONValue], facts: PlotSpec) -> String {
        vectorChart(
            history, values: { HistoryValues.vector($0["hyperparameters"]?["init_scale"]) }, facts: facts,
            names: { facts.columnNames(count: $0) },
            title: title(of: "init_scale"), yLabel: "initial scale")
    }

    /// One line per entry of a vector the items carry (`values` reads it), against the meta-iteration.
    static func vectorChart(
        _ history: [JSONValue], values: (JSONValue) -> [Double]?, facts: PlotSpec, names: (Int) -> [String],
        title: String,
        yLabel: String, subtitle: String? = nil, logarithmicY: Bool = true
    ) -> String {
        let vectors = history.map(values)
        let columns = vectors.map { $0?.count ?? 0 }.max() ?? 0
        let labels = names(columns)
        let series = (0..<columns).map { column in
            let style = PlotSpec.style(of: labels[column], column: column)
            return SVGLineChart.Series(
                name: labels[column],
                points: zip(history, vectors).map { item, vector in
                    let value = vector.flatMap { column < $0.count ? $0[column] : nil } ?? .nan
                    return SVGLineChart.Point(x: metaIteration(item), y: value)
                },
                colorIndex: style.color, dashed: style.dashed)
        }
        return SVGLineChart(
            title: title, subtitle: subtitle, xLabel: "meta-iteration", yLabel: yLabel, series: series,
            logarithmicY: logarithmicY, integerX: true
        ).render()
    }

    /// The latest per-weight penalties of the input layer as images: one per output class when
    /// the input layer is the only layer, else the mean over its output units.
    private static func perWeightL2(_ history: [JSONValue], facts: PlotSpec, dataset: DatasetShape?) -> SVGImageGrid? {
        guard let latest = history.last(where: { HistoryValues.vector($0["hyperparameters"]?["l2"]) != nil }),
            let l2 = HistoryValues.vector(latest["hyperparameters"]?["l2"]),
            let shape = dataset ?? inferShape(facts: facts, l2Count: l2.count, latest: latest),
            facts.layerNames == nil  // the input-layer images read the dense shorthand's layout
        else { return nil }
        let fanOut = facts.hidden.first ?? shape.classes
        let layerWeights =
            facts.hidden.isEmpty
            ? shape.features * shape.classes
            : shape.features * fanOut
                + zip(facts.hidden, facts.hidden.dropFirst() + [shape.classes]).reduce(0) { $0 + $1.0 * $1.1 }
        guard shape.features > 0, fanOut > 0, l2.count == layerWeights else { return nil }
        // W1 is stored (fanIn, fanOut) row by row: the weight from input i to unit j is at i·fanOut + j.
        let (width, height) = PlotSpec.imageShape(features: shape.features)
        func image(_ title: String, _ pixel: (Int) -> Double) -> SVGImageGrid.Image {
            let values = (0..<(width * height)).map { $0 < shape.features ? pixel($0) : .nan }
            return SVGImageGrid.Image(title: title, width: width, height: height, values: values)
        }
        let images: [SVGImageGrid.Image]
        let subtitle: String
        let iteration = Markup.integer(metaIteration(latest))
        if facts.hidden.isEmpty {
            images = (0..<shape.classes).map { c in image("class \(c)") { l2[$0 * fanOut + c] } }
            subtitle = "λ of each input weight, per output class; meta-iteration \(iteration)"
        } else {
            images = [
                image("mean over \(fanOut) units") { i in
                    (0..<fanOut).reduce(0) { $0 + l2[i * fanOut + $1] } / Double(fanOut)
                }
            ]
            subtitle = "λ of each input weight of W1, mean over its units; meta-iteration \(iteration)"
        }
        return SVGImageGrid(
            title: title(of: "l2"), subtitle: subtitle, images: images, colorScale: .grey, logarithmic: true)
    }

    /// The dataset's shape when the spec and the items tell it: the built-in digits, or learned
    /// training rows (features) with the weight count (classes).
    private static func inferShape(facts: PlotSpec, l2Count: Int, latest: JSONValue) -> DatasetShape? {
        if facts.builtinDataset == "digits" { return DatasetShape(features: 64, classes: 10) }
        guard let features = latest["hyperparameters"]?["training_data"]?[0]?.arrayValue?.count, features > 0 else {
            return nil
        }
        guard let last = facts.hidden.last, let first = facts.hidden.first else {
            return l2Count % features == 0 ? DatasetShape(features: features, classes: l2Count / features) : nil
        }
        let inner = zip(facts.hidden, facts.hidden.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
        let remainder = l2Count - features * first - inner
        guard remainder > 0, remainder % last == 0 else { return nil }
        return DatasetShape(features: features, classes: remainder / last)
    }

    /// Per-weight values (`key`: `l2`, or Adam's `weight_decay`) when their layout is unknown: the
    /// smallest, geometric mean and largest λ per meta-iteration.
    static func perWeightSummary(_ history: [JSONValue], key: String, yLabel: String) -> String {
        func summary(_ item: JSONValue) -> (Double, Double, Double) {
            let values = (HistoryValues.vector(item["hyperparameters"]?[key]) ?? []).filter { $0 > 0 && $0.isFinite }
            guard !values.isEmpty else { return (.nan, .nan, .nan) }
            let logMean = values.reduce(0) { $0 + log10($1) } / Double(values.count)
            return (values.min()!, pow(10, logMean), values.max()!)
        }
        let summaries = history.map(summary)
        func series(
            _ name: String, _ color: Int, dashed: Bool, _ pick: ((Double, Double, Double)) -> Double
        ) -> SVGLineChart.Series {
            SVGLineChart.Series(
                name: name,
                points: zip(history, summaries).map { SVGLineChart.Point(x: metaIteration($0), y: pick($1)) },
                colorIndex: color, dashed: dashed)
        }
        return SVGLineChart(
            title: title(of: key), subtitle: "one λ per weight: range and geometric mean", xLabel: "meta-iteration",
            yLabel: yLabel,
            series: [
                series("largest", 3, dashed: true) { $0.2 }, series("geometric mean", 0, dashed: false) { $0.1 },
                series("smallest", 5, dashed: true) { $0.0 },
            ],
            logarithmicY: true, integerX: true
        ).render()
    }

    /// The latest learned training inputs, one image per row (the first 100), titled by row index.
    static func trainingData(_ history: [JSONValue]) -> String {
        let limit = 100
        guard let latest = history.last(where: { HistoryValues.table($0["hyperparameters"]?["training_data"]) != nil }),
            let rows = HistoryValues.table(latest["hyperparameters"]?["training_data"]),
            let features = rows.first?.count, features > 0
        else {
            return SVGImageGrid(title: title(of: "training_data"), images: []).render()
        }
        let (width, height) = PlotSpec.imageShape(features: features)
        let images = rows.prefix(limit).enumerated().map { index, row in
            SVGImageGrid.Image(
                title: "row \(index)", width: width, height: height,
                values: (0..<(width * height)).map { $0 < row.count ? row[$0] : .nan })
        }
        let values = rows.prefix(limit).joined().filter(\.isFinite)
        let signed = (values.min() ?? 0) < 0
        var subtitle = "meta-iteration \(Markup.integer(metaIteration(latest)))"
        if rows.count > limit { subtitle += "; the first \(limit) of \(rows.count) rows" }
        return SVGImageGrid(
            title: title(of: "training_data"), subtitle: subtitle, images: images,
            colorScale: signed ? .diverging : .grey
        ).render()
    }
}
