import Testing

@testable import Dashboard

@Suite("SVG line chart")
struct SVGLineChartTests {
    typealias Series = SVGLineChart.Series

    func chart(_ series: [Series], title: String = "Loss", logarithmicY: Bool = false) -> SVGLineChart {
        SVGLineChart(
            title: title, xLabel: "meta-iteration", yLabel: "loss", series: series, logarithmicY: logarithmicY,
            integerX: true)
    }

    @Test func drawsEverySeriesInItsOwnColourAndNamesItInTheLegend() {
        let svg = chart([
            Series(name: "training", values: [0.9, 0.5, 0.3]),
            Series(name: "validation", values: [1.0, 0.7, 0.6]),
        ]).render()
        let document = XMLDocumentSummary(svg)
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        let strokes = document.all("polyline").compactMap { $0.attributes["stroke"] }
        #expect(strokes == [Palette.series[0], Palette.series[1]])
        #expect(document.texts.contains("training") && document.texts.contains("validation"))
        #expect(
            document.texts.contains("Loss") && document.texts.contains("meta-iteration")
                && document.texts.contains("loss"))
        #expect(document.all("title").first?.text == "Loss")
        let root = document.elements[0]
        #expect(root.name == "svg" && root.attributes["viewBox"] == "0 0 640 360" && root.attributes["width"] == "100%")
    }

    @Test func nonFinitePointsSplitALineIntoRuns() {
        let svg = chart([Series(name: "validation", values: [1, 0.8, .nan, 0.6, 0.5, .infinity, 0.4, 0.3])]).render()
        let document = XMLDocumentSummary(svg)
        #expect(document.polylineLengths == [2, 2, 2])
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test func aLogScaleLeavesOutValuesThatAreNotPositive() {
        let svg = chart([Series(name: "norm", values: [1e-2, 0, 1e-3, -1, 1e-4, 1e-5])], logarithmicY: true).render()
        let document = XMLDocumentSummary(svg)
        #expect(document.polylineLengths == [2])
        #expect(document.all("circle").count == 4)  // every drawable point of a short series is marked
        #expect(document.texts.contains("1e-5") && document.texts.contains("0.01"))
    }

    @Test func anIsolatedPointIsDrawnAsADot() {
        let document = XMLDocumentSummary(chart([Series(name: "loss", values: [0.7])]).render())
        #expect(document.all("polyline").isEmpty)
        #expect(document.all("circle").count == 1)
    }

    @Test func escapesMarkupInTitlesLabelsAndSeriesNames() {
        let hostile = "<script>alert(\"x\") & 'y'</script>"
        let svg = SVGLineChart(
            title: hostile, subtitle: "a < b", xLabel: "x & y", yLabel: "\"y\"",
            series: [Series(name: hostile, values: [1, 2]), Series(name: "b\u{1}", values: [2, 1])]
        ).render()
        #expect(!svg.contains("<script"))
        let document = XMLDocumentSummary(svg)
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(document.texts.filter { $0 == hostile }.count == 2)  // the title and the legend
        #expect(
            document.texts.contains("a < b") && document.texts.contains("x & y") && document.texts.contains("\"y\""))
        #expect(document.texts.contains("b\u{FFFD}"))
        #expect(document.elements[0].attributes["aria-label"] == hostile)
    }

    @Test func theSameChartAlwaysRendersToTheSameBytes() {
        let make = {
            chart([
                Series(name: "a", values: (0..<50).map { 1 / Double($0 + 1) }),
                Series(name: "b", values: [3, .nan, 1]),
            ]).render()
        }
        #expect(make() == make())
        #expect(make().hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
    }

    @Test(arguments: [[], [Series(name: "a", values: [])], [Series(name: "a", values: [.nan, .nan])]])
    func aChartWithoutDrawablePointsSaysThereIsNoDataYet(series: [Series]) {
        let document = XMLDocumentSummary(chart(series).render())
        #expect(document.wellFormed)
        #expect(document.texts.contains("no data yet"))
        #expect(document.all("polyline").isEmpty && document.all("circle").isEmpty)
    }

    @Test func faintSeriesAreDrawnFirstTranslucentAndLeftOutOfTheLegend() {
        let svg = chart([
            Series(name: "W1", values: [0.5, 0.6, 0.7]),
            Series(name: "W1", values: [0.5, 0.5, 0.5], faint: true),
        ]).render()
        let document = XMLDocumentSummary(svg)
        let lines = document.all("polyline")
        #expect(lines.count == 2)
        #expect(lines[0].attributes["stroke-opacity"] == "0.35" && lines[1].attributes["stroke-opacity"] == nil)
        #expect(lines[0].attributes["stroke"] == lines[1].attributes["stroke"])  // the faint twin shares the colour
        #expect(document.texts.filter { $0 == "W1" }.count == 1)
    }

    @Test func dashedSeriesAreDashedInTheLegendToo() {
        let document = XMLDocumentSummary(
            chart([Series(name: "W1", values: [1, 2]), Series(name: "b1", values: [2, 1], dashed: true)]).render())
        #expect(document.all("polyline").map { $0.attributes["stroke-dasharray"] } == [nil, "6 4"])
        #expect(document.all("line").contains { $0.attributes["stroke-dasharray"] == "6 4" })
    }

    @Test func longSeriesAreReducedButKeepTheirExtremes() {
        var values = (0..<100_000).map { 1 + Double($0 % 7) * 0.01 }
        values[61_234] = 9  // a spike that striding would miss
        let svg = chart([Series(name: "lr", values: values)]).render()
        let document = XMLDocumentSummary(svg)
        let lengths = document.polylineLengths
        #expect(lengths.count == 1 && lengths[0] <= 600 && lengths[0] >= 300)
        #expect(document.all("circle").isEmpty)
        let reduced = LineDecimation.reduce(
            values.enumerated().map { .init(x: Double($0.offset), y: $0.element) }, to: 600)
        #expect(reduced.contains { $0.y == 9 } && reduced.contains { $0.y == 1 })
        #expect(zip(reduced, reduced.dropFirst()).allSatisfy { $0.x < $1.x })
    }

    @Test func aSingleSeriesWithoutFaintCompanionsNeedsNoLegend() {
        let document = XMLDocumentSummary(chart([Series(name: "norm", values: [1, 2, 3])]).render())
        #expect(!document.texts.contains("norm"))
    }
}
