import JSON
import Testing

@testable import Dashboard

@Suite("Job plots")
struct JobPlotsTests {
    let spec = SampleHistory.spec(hidden: [50, 50], iterations: 100)
    let items = SampleHistory.items(count: 6, hidden: [50, 50], iterations: 100, segments: 100)

    func render(
        _ name: String, spec: JSONValue? = nil, items: [JSONValue]? = nil, dataset: JobPlots.DatasetShape? = nil
    ) -> XMLDocumentSummary {
        let svg = JobPlots.render(name: name, spec: spec ?? self.spec, items: items ?? self.items, dataset: dataset)
        return XMLDocumentSummary(svg ?? "")
    }

    /// Legend labels: texts drawn right of a legend sample line.
    func legend(_ document: XMLDocumentSummary) -> [String] {
        let names = [
            "W1", "b1", "W2", "b2", "W3", "b3", "all blocks", "all weights", "training", "validation",
            "test (held out)",
        ]
        return document.texts.filter(names.contains)
    }

    @Test func everyJobHasTheLossErrorScheduleAndPenaltyPlots() {
        #expect(
            JobPlots.names(for: spec) == [
                "loss", "error", "learning_curve", "learning_rate", "momentum", "l2", "init_scale",
                "hypergradient_norm",
            ])
        #expect(JobPlots.names(for: ["dataset": ["name": "digits"]]).count == 8)
    }

    @Test func distillationJobsAlsoShowTheLearnedTrainingInputs() {
        let distilling = SampleHistory.spec(hidden: [], iterations: 10, learnsData: true)
        #expect(JobPlots.names(for: distilling).last == "training_data")
        #expect(JobPlots.render(name: "training_data", spec: spec, items: items) == nil)
        #expect(JobPlots.render(name: "training_data", spec: distilling, items: []) != nil)
    }

    @Test func unknownPlotNamesRenderNothing() {
        #expect(JobPlots.render(name: "weights", spec: spec, items: items) == nil)
        #expect(JobPlots.render(name: "../loss", spec: spec, items: items) == nil)
    }

    @Test func segmentsCoverTheIterationsInEqualRunsWithTheRemainderAtTheEnd() {
        let rows = PlotSpec.expand([[1], [2], [3]], iterations: 10)
        #expect(rows.map { $0[0] } == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3])
        #expect(PlotSpec.expand([[0.5, 0.1]], iterations: 4) == Array(repeating: [0.5, 0.1], count: 4))
        let perIteration = (0..<7).map { [Double($0)] }
        #expect(PlotSpec.expand(perIteration, iterations: 7) == perIteration)
        #expect((0..<3).map { PlotSpec.segment($0, of: 3, iterations: 10) } == [0..<3, 3..<6, 6..<10])
    }

    @Test func scheduleStepsMatchTheSegmentBoundaries() {
        let spec = SampleHistory.spec(hidden: [], iterations: 10)
        let items: [JSONValue] = [
            [
                "meta_iteration": 0, "training_loss": 1, "validation_loss": 1, "validation_error": 0.5,
                "hyperparameters": [
                    "learning_rate": [[0.1], [0.2], [0.4]], "momentum": [[0.9]], "l2": [1e-4], "init_scale": [0.1],
                ],
                "hypergradient": nil, "seconds": 1,
            ]
        ]
        let document = render("learning_rate", spec: spec, items: items)
        // Three segments of a global schedule: (0, 2), (3, 5), (6, 9) as one line of six points.
        #expect(document.polylineLengths == [6])
        #expect(legend(document).isEmpty)  // a single line needs no legend; the y label names it
        #expect(document.texts.contains("learning rate"))
        // One constant segment is drawn across meta-iterations instead (one item: one point).
        let momentum = render("momentum", spec: spec, items: items)
        #expect(
            momentum.texts.contains("meta-iteration") && momentum.texts.contains("constant over training iterations"))
    }

    @Test func deepSchedulesGetOnePanelPerLayer() {
        let hidden = [20, 20, 20, 20]
        let spec = SampleHistory.spec(hidden: hidden, iterations: 50)
        let items = SampleHistory.items(count: 3, hidden: hidden, iterations: 50, segments: 50)
        let document = render("learning_rate", spec: spec, items: items)
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        // The root plus five layer panels, each with its W and b over their faint initial copies.
        #expect(document.all("svg").count == 6)
        #expect((1...5).allSatisfy { document.texts.contains("layer \($0)") })
        #expect(document.all("polyline").count == 20)
        // Three layers still fit one chart.
        let shallow = render("learning_rate")
        #expect(shallow.all("svg").count == 1)
    }

    @Test func layeredNetworksGetOnePanelPerLayerNamedAfterIt() {
        // conv → tanh → avgpool → conv → dense: three layers with parameters, as many as hidden [a, b].
        guard case .object(var object) = SampleHistory.spec(hidden: [4, 4], iterations: 20) else { return }
        object["model"] = [
            "layers": [
                ["type": "conv2d", "filters": 4, "kernel": 3], ["type": "tanh"], ["type": "avgpool", "size": 2],
                ["type": "conv2d", "filters": 2, "kernel": 3], ["type": "dense", "units": 8],
            ]
        ]
        let spec = JSONValue.object(object)
        let items = SampleHistory.items(count: 3, hidden: [4, 4, 4], iterations: 20, segments: 20)
        let document = render("learning_rate", spec: spec, items: items)
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(document.all("svg").count == 5)
        for layer in ["conv2d_1", "conv2d_2", "dense_1", "dense_2"] { #expect(document.texts.contains(layer)) }
        #expect(document.texts.contains("conv2d_1.weights") && document.texts.contains("dense_2.biases"))
        let l2 = render("l2", spec: spec, items: items)
        #expect(l2.texts.contains("conv2d_2.weights"))
    }

    @Test func constantSchedulesAreDrawnAcrossMetaIterationsLikeL2() {
        let spec = SampleHistory.spec(hidden: [50, 50], iterations: 100)
        let items = SampleHistory.items(count: 6, hidden: [50, 50], iterations: 100, segments: 1)
        let document = render("learning_rate", spec: spec, items: items)
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(document.texts.contains("meta-iteration") && !document.texts.contains("training iteration"))
        // One line per block, a point per item; nothing faint lying on the axis.
        #expect(document.polylineLengths == Array(repeating: 6, count: 6))
        #expect(document.all("polyline").allSatisfy { $0.attributes["stroke-opacity"] == nil })
    }

    @Test func schedulesDrawOneLinePerBlockOverTheInitialScheduleFaintly() {
        let document = render("learning_rate")
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(legend(document) == ["W1", "b1", "W2", "b2", "W3", "b3"])
        let lines = document.all("polyline")
        #expect(lines.count == 12)
        #expect(lines.prefix(6).allSatisfy { $0.attributes["stroke-opacity"] == "0.35" })
        #expect(lines.suffix(6).allSatisfy { $0.attributes["stroke-opacity"] == nil })
        #expect(
            lines.suffix(6).map { $0.attributes["stroke-dasharray"] != nil } == [false, true, false, true, false, true])
        #expect(document.texts.contains("meta-iteration 5; faint: meta-iteration 0 (initial)"))
        #expect(document.all("circle").isEmpty)
    }

    @Test func aFirstItemAloneHasNoFaintCopyOfItself() {
        let document = render("momentum", items: Array(items.prefix(1)))
        #expect(document.all("polyline").count == 6)
        #expect(document.all("polyline").allSatisfy { $0.attributes["stroke-opacity"] == nil })
    }

    @Test func globalSchedulesAreOneLineForAllBlocks() {
        let global = SampleHistory.items(count: 3, hidden: [], iterations: 100, segments: 5).map { item -> JSONValue in
            guard case .object(var object) = item, case .object(var hyper) = object["hyperparameters"]! else {
                return item
            }
            hyper["learning_rate"] = JSONValue([[0.5], [0.4], [0.3], [0.2], [0.1]])
            hyper["momentum"] = JSONValue([[0.9]])
            object["hyperparameters"] = .object(hyper)
            return .object(object)
        }
        let document = render("learning_rate", spec: SampleHistory.spec(hidden: [], iterations: 100), items: global)
        #expect(document.all("polyline").count == 2)  // faint initial + latest
        #expect(!document.texts.contains("W1"))
    }

    @Test func l2AndInitScaleArePlottedPerBlockAgainstTheMetaIteration() {
        let l2 = render("l2")
        #expect(legend(l2) == ["W1", "W2", "W3"])
        #expect(l2.polylineLengths == [6, 6, 6])
        #expect(l2.texts.contains("meta-iteration"))
        let scale = render("init_scale")
        #expect(legend(scale) == ["W1", "b1", "W2", "b2", "W3", "b3"])
        #expect(scale.polylineLengths == Array(repeating: 6, count: 6))
    }

    @Test func perWeightL2OfALogisticRegressionIsOneImagePerClass() {
        let spec = SampleHistory.spec(hidden: [], iterations: 10, l2Per: "weight")
        let items = SampleHistory.items(count: 2, hidden: [], iterations: 10, segments: 1, l2Weights: 640)
        let document = render("l2", spec: spec, items: items)
        #expect(document.wellFormed)
        #expect((0..<10).allSatisfy { document.texts.contains("class \($0)") })
        #expect(document.all("rect").filter { $0.attributes["fill"] == "none" }.count == 10)
        #expect(document.all("polyline").isEmpty)
    }

    @Test func perWeightL2WithHiddenLayersIsTheMeanOverInputUnits() {
        let spec = SampleHistory.spec(hidden: [20], iterations: 10, l2Per: "weight")
        let items = SampleHistory.items(
            count: 2, hidden: [20], iterations: 10, segments: 1, l2Weights: 64 * 20 + 20 * 10)
        let document = render("l2", spec: spec, items: items)
        #expect(document.texts.contains("mean over 20 units"))
        #expect(document.all("rect").filter { $0.attributes["fill"] == "none" }.count == 1)
    }

    @Test func perWeightL2OfAnUploadNeedsTheDatasetShapeOrFallsBackToASummary() {
        var spec = SampleHistory.spec(hidden: [], iterations: 10, l2Per: "weight")
        guard case .object(var object) = spec else { return }
        object["dataset"] = ["id": "ds_1"]
        spec = .object(object)
        let items = SampleHistory.items(count: 3, hidden: [], iterations: 10, segments: 1, l2Weights: 12)
        let summary = render("l2", spec: spec, items: items)
        #expect(summary.texts.contains("geometric mean") && summary.all("polyline").count == 3)
        let images = render("l2", spec: spec, items: items, dataset: .init(features: 4, classes: 3))
        #expect(images.texts.contains("class 2") && images.all("polyline").isEmpty)
        // A shape that does not match the number of penalties is not trusted.
        let mismatched = render("l2", spec: spec, items: items, dataset: .init(features: 5, classes: 3))
        #expect(mismatched.texts.contains("geometric mean"))
    }

    @Test func hypergradientNormsCoverTheItemsThatCarryAHypergradient() {
        let document = render("hypergradient_norm")
        #expect(document.polylineLengths == [5])  // the final item has none
        #expect(HistoryValues.sumOfSquares(["a": [[3]], "b": [4], "c": []]) == 25)
        #expect(HistoryValues.sumOfSquares([1, nil]).isNaN)
    }

    @Test func theLatestLearnedTrainingInputsAreImagesLabelledByRow() {
        let spec = SampleHistory.spec(hidden: [], iterations: 10, learnsData: true)
        let items = SampleHistory.items(count: 3, hidden: [], iterations: 10, segments: 1, trainingRows: 10)
        let document = render("training_data", spec: spec, items: items)
        #expect((0..<10).allSatisfy { document.texts.contains("row \($0)") })
        #expect(document.texts.contains("meta-iteration 2"))
    }

    @Test func lossShowsBothSplitsAndErrorItsOwnChart() {
        let loss = render("loss")
        #expect(legend(loss) == ["training", "validation"])
        #expect(loss.polylineLengths == [6, 6])
        let error = render("error")
        #expect(error.polylineLengths == [6] && error.texts.contains("fraction misclassified"))
    }

    @Test func aTestSplitAddsAHeldOutLineToTheLossAndErrorCharts() {
        let withTest = items.enumerated().map { index, item -> JSONValue in
            guard case .object(var object) = item else { return item }
            object["test_loss"] = .number(0.5 - 0.01 * Double(index))
            object["test_error"] = .number(0.1)
            return .object(object)
        }
        let loss = render("loss", items: withTest)
        #expect(legend(loss) == ["training", "validation", "test (held out)"])
        #expect(loss.polylineLengths == [6, 6, 6])
        #expect(render("error", items: withTest).polylineLengths == [6, 6])
        // Items without a test split (test_loss null) keep the two lines.
        let nullTest = items.map { item -> JSONValue in
            guard case .object(var object) = item else { return item }
            object["test_loss"] = .null
            return .object(object)
        }
        #expect(legend(render("loss", items: nullTest)) == ["training", "validation"])
    }

    @Test func itemsAreOrderedByMetaIterationWhateverOrderTheyArriveIn() {
        for name in JobPlots.names(for: spec) {
            #expect(
                JobPlots.render(name: name, spec: spec, items: items.reversed())
                    == JobPlots.render(name: name, spec: spec, items: items))
        }
    }

    @Test func nullNumbersFromDivergedRunsShowAsGaps() {
        var broken = items
        guard case .object(var object) = broken[2] else { return }
        object["validation_loss"] = nil
        object["validation_loss"] = .null
        broken[2] = .object(object)
        #expect(render("loss", items: broken).polylineLengths == [6, 2, 3])
    }

    @Test(arguments: [[50, 50], [], [10]])
    func everyPlotIsWellFormedWithAndWithoutHistory(hidden: [Int]) {
        for l2Per in ["global", "block", "weight"] {
            let spec = SampleHistory.spec(hidden: hidden, iterations: 30, l2Per: l2Per, learnsData: true)
            let layerSizes = [64] + hidden + [10]
            let weights = zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 }
            let items = SampleHistory.items(
                count: 4, hidden: hidden, iterations: 30, segments: 7, l2Weights: l2Per == "weight" ? weights : nil,
                trainingRows: 12)
            for name in JobPlots.names(for: spec) {
                for history in [items, []] {
                    let document = XMLDocumentSummary(JobPlots.render(name: name, spec: spec, items: history)!)
                    #expect(document.wellFormed, "\(name) \(l2Per) \(hidden): \(document.parseError ?? "")")
                    #expect(history.isEmpty == document.texts.contains("no data yet"), "\(name)")
                }
            }
        }
    }
}

@Suite("Learning curve plot")
struct LearningCurvePlotTests {
    @Test("the learning curve draws the latest run's losses against training iteration, the first run faint behind")
    func learningCurve() {
        let spec = SampleHistory.spec(hidden: [10], iterations: 30, l2Per: "block", learnsData: false)
        let items = SampleHistory.items(count: 3, hidden: [10], iterations: 30, segments: 30)
        let svg = JobPlots.render(name: "learning_curve", spec: spec, items: items)!
        let document = XMLDocumentSummary(svg)
        #expect(document.wellFormed)
        #expect(document.texts.contains("training iteration"))
        #expect(document.texts.contains("meta-iteration 2"))
        #expect(document.polylineLengths.filter { $0 == 30 }.count == 2)
        #expect(JobPlots.names(for: spec).contains("learning_curve"))
    }
}
