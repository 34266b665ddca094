/// A line chart rendered to a standalone SVG document: title, axes with nice ticks, named series
/// with a legend, optional log-scale y.
///
/// Rendering is a pure function of the value: the same chart always gives the same bytes. Points
/// whose coordinates cannot be drawn (NaN, ±∞, or non-positive on a log axis) split a line into
/// runs, so a diverged value shows as a gap rather than as a spike or a crash. A chart with nothing
/// to draw says so instead of showing empty axes.
public struct SVGLineChart: Sendable, Equatable {
    /// One point of a series.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double

        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// A named line.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [Point]
        /// Index into `Palette.series`; nil assigns colours in order of appearance.
        public var colorIndex: Int?
        /// Drawn dashed, e.g. to tell bias blocks from weight blocks of the same layer.
        public var dashed: Bool
        /// Drawn thin and translucent behind the others, and left out of the legend (e.g. the
        /// initial schedule behind the learned one).
        public var faint: Bool

        public init(name: String, points: [Point], colorIndex: Int? = nil, dashed: Bool = false, faint: Bool = false) {
            self.name = name
            self.points = points
            self.colorIndex = colorIndex
            self.dashed = dashed
            self.faint = faint
        }

        /// A series over x = 0, 1, 2, ...
        public init(name: String, values: [Double], colorIndex: Int? = nil, dashed: Bool = false, faint: Bool = false) {
            self.init(
                name: name, points: values.enumerated().map { Point(x: Double($0.offset), y: $0.element) },
                colorIndex: colorIndex, dashed: dashed, faint: faint)
        }
    }

    public var title: String
    /// A second line under the title, for context such as "faint: meta-iteration 0".
    public var subtitle: String?
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// A log-scale y axis, for quantities that are positive and span decades.
    public var logarithmicY: Bool
    /// Ticks on whole numbers only, for iteration counts.
    public var integerX: Bool
    /// Dots on the points of short series (40 points or fewer), where each point is a measurement.
    public var showsMarkers: Bool
    /// What the plot area says when no series has a drawable point.
    public var emptyMessage: String
    /// Runs longer than this are reduced to the minimum and maximum of each of `maxPoints / 2`
    /// buckets, which keeps every extreme while bounding the document's size.
    public var maxPoints: Int
    /// The viewBox; the document itself scales to the width of its container.
    public var width: Double
    public var height: Double

    public init(
        title: String, subtitle: String? = nil, xLabel: String, yLabel: String, series: [Series],
        logarithmicY: Bool = false, integerX: Bool = false, showsMarkers: Bool = true,
        emptyMessage: String = "no data yet",
        maxPoints: Int = 600, width: Double = 640, height: Double = 360
    ) {
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logarithmicY = logarithmicY
        self.integerX = integerX
        self.showsMarkers = showsMarkers
        self.emptyMessage = emptyMessage
        self.maxPoints = max(4, maxPoints)
        self.width = width
        self.height = height
    }

    /// The SVG document.
    public func render() -> String {
        var svg = SVGDocument(width: width, height: height, title: title)
        let top = drawHeading(into: &svg)
        let drawable = series.map { $0.points.filter(isDrawable) }
        let allPoints = drawable.joined()
        guard let minX = allPoints.map(\.x).min(), let maxX = allPoints.map(\.x).max(),
            let minY = allPoints.map(\.y).min(), let maxY = allPoints.map(\.y).max()
        else {
            drawEmpty(into: &svg, top: top)
            return svg.finish()
        }
        let xAxis = AxisScale.linear(minimum: minX, maximum: maxX, target: 6, integers: integerX)
        let yAxis =
            logarithmicY
            ? AxisScale.logarithmic(minimum: minY, maximum: maxY)
            : AxisScale.linear(minimum: minY, maximum: maxY, target: 5)
        let legend = legendEntries()
        let legendWidth =
            legend.isEmpty ? 0 : min(170, legend.map { Markup.estimatedWidth($0.name, fontSize: 12) }.max()! + 34)
        let tickWidth = yAxis.labels.map { Markup.estimatedWidth($0, fontSize: 11) }.max() ?? 0
        let plot = Frame(
            left: max(52, 34 + tickWidth), top: top, right: width - 16 - legendWidth, bottom: height - 46)

        drawAxes(into: &svg, plot: plot, xAxis: xAxis, yAxis: yAxis)
        let order = series.indices.filter { series[$0].faint } + series.indices.filter { !series[$0].faint }
        for index in order {
            drawSeries(series[index], color: colorIndex(of: index), into: &svg, plot: plot, xAxis: xAxis, yAxis: yAxis)
        }
        drawLegend(legend, into: &svg, x: plot.right + 16, top: plot.top, bottom: plot.bottom)
        return svg.finish()
    }

    private func isDrawable(_ point: Point) -> Bool {
        point.x.isFinite && point.y.isFinite && (!logarithmicY || point.y > 0)
    }

    /// Writes the title and subtitle; returns where the plot area may start.
    private func drawHeading(into svg: inout SVGDocument) -> Double {
        svg.text(title, x: 16, y: 24, size: 15, weight: "600")
        guard let subtitle else { return 44 }
        svg.text(subtitle, x: 16, y: 42, size: 11.5, color: Palette.mutedInk)
        return 58
    }

    private func drawEmpty(into svg: inout SVGDocument, top: Double) {
        let plot = Frame(left: 16, top: top, right: width - 16, bottom: height - 46)
        svg.element(
            "rect",
            [("x", plot.left), ("y", plot.top), ("width", plot.width), ("height", plot.height)].map(SVGDocument.number)
                + [("fill", "#f6f8fa"), ("stroke", Palette.grid)])
        svg.text(
            emptyMessage, x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2 + 5,
            size: 14, color: Palette.mutedInk, anchor: "middle")
    }

    private func drawAxes(into svg: inout SVGDocument, plot: Frame, xAxis: AxisScale, yAxis: AxisScale) {
        for (tick, label) in zip(yAxis.ticks, yAxis.labels) {
            let y = plot.bottom - yAxis.position(tick) * plot.height
            svg.line(x1: plot.left, y1: y, x2: plot.right, y2: y, color: Palette.grid)
            svg.text(label, x: plot.left - 7, y: y + 4, size: 11, color: Palette.mutedInk, anchor: "end")
        }
        for (tick, label) in zip(xAxis.ticks, xAxis.labels) {
            let x = plot.left + xAxis.position(tick) * plot.width
            svg.line(x1: x, y1: plot.top, x2: x, y2: plot.bottom, color: Palette.grid)
            svg.line(x1: x, y1: plot.bottom, x2: x, y2: plot.bottom + 4, color: Palette.ink)
            svg.text(label, x: x, y: plot.bottom + 17, size: 11, color: Palette.mutedInk, anchor: "middle")
        }
        svg.line(x1: plot.left, y1: plot.top, x2: plot.left, y2: plot.bottom, color: Palette.ink)
        svg.line(x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, color: Palette.ink)
        svg.text(
            xLabel, x: (plot.left + plot.right) / 2, y: height - 10, size: 12, color: Palette.mutedInk, anchor: "middle"
        )
        let middle = Markup.coordinate((plot.top + plot.bottom) / 2)
        svg.text(
            yLabel, x: 0, y: 0, size: 12, color: Palette.mutedInk, anchor: "middle",
            transform: "translate(15 \(middle)) rotate(-90)")
    }

    private func drawSeries(
        _ series: Series, color: Int, into svg: inout SVGDocument, plot: Frame, xAxis: AxisScale, yAxis: AxisScale
    ) {
        let stroke = Palette.color(color)
        var style: [(String, String)] = [("fill", "none"), ("stroke", stroke)]
        style.append(("stroke-width", series.faint ? "1.5" : "2"))
        if series.faint { style.append(("stroke-opacity", "0.35")) }
        if series.dashed { style.append(("stroke-dasharray", "6 4")) }
        style += [("stroke-linejoin", "round"), ("stroke-linecap", "round")]
        let drawableCount = series.points.count { isDrawable($0) }
        let markers = showsMarkers && !series.faint && drawableCount <= 40
        for run in runs(of: series.points) {
            let coordinates = LineDecimation.reduce(run, to: maxPoints).map { point in
                (plot.left + xAxis.position(point.x) * plot.width, plot.bottom - yAxis.position(point.y) * plot.height)
            }
            if coordinates.count > 1 {
                let list = coordinates.map { "\(Markup.coordinate($0.0)),\(Markup.coordinate($0.1))" }.joined(
                    separator: " ")
                svg.element("polyline", [("points", list)] + style)
            }
            if markers || coordinates.count == 1 {
                for (x, y) in coordinates {
                    var attributes = [("cx", x), ("cy", y), ("r", 2.75)].map(SVGDocument.number)
                    attributes.append(("fill", stroke))
                    if series.faint { attributes.append(("fill-opacity", "0.35")) }
                    svg.element("circle", attributes)
                }
            }
        }
    }

    /// Maximal stretches of drawable points.
    private func runs(of points: [Point]) -> [[Point]] {
        var result: [[Point]] = []
        var current: [Point] = []
        for point in points {
            if isDrawable(point) {
                current.append(point)
            } else if !current.isEmpty {
                result.append(current)
                current = []
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// The legend's rows: every full series, unless there is only one and nothing faint, when the
    /// y label already says what the line is.
    private func legendEntries() -> [(name: String, color: Int, dashed: Bool)] {
        if series.count == 1 { return [] }
        return series.indices.filter { !series[$0].faint }.map {
            (series[$0].name, colorIndex(of: $0), series[$0].dashed)
        }
    }

    private func drawLegend(
        _ entries: [(name: String, color: Int, dashed: Bool)], into svg: inout SVGDocument, x: Double, top: Double,
        bottom: Double
    ) {
        let rowHeight = 19.0
        let capacity = max(1, Int((bottom - top) / rowHeight))
        let shown = entries.count > capacity ? Array(entries.prefix(capacity - 1)) : entries
        for (row, entry) in shown.enumerated() {
            let y = top + 8 + Double(row) * rowHeight
            var attributes = [("x1", x), ("y1", y), ("x2", x + 20), ("y2", y)].map(SVGDocument.number)
            attributes += [("stroke", Palette.color(entry.color)), ("stroke-width", "2.5")]
            if entry.dashed { attributes.append(("stroke-dasharray", "6 4")) }
            svg.element("line", attributes)
            svg.text(entry.name, x: x + 26, y: y + 4, size: 12)
        }
        if shown.count < entries.count {
            svg.text(
                "+\(entries.count - shown.count) more", x: x + 26, y: top + 12 + Double(shown.count) * rowHeight,
                size: 12, color: Palette.mutedInk)
        }
    }

    /// The palette slot of series `index`: its own, else the next unused in order; a faint series
    /// takes the colour of the full series with the same name, so "initial W1" matches "W1".
    private func colorIndex(of index: Int) -> Int {
        if let explicit = series[index].colorIndex { return explicit }
        if series[index].faint,
            let twin = series.indices.first(where: { !series[$0].faint && series[$0].name == series[index].name })
        {
            return colorIndex(of: twin)
        }
        return series[..<index].count { $0.faint == series[index].faint }
    }
}

/// The plot area in viewBox units.
struct Frame {
    var left: Double
    var top: Double
    var right: Double
    var bottom: Double
    var width: Double { right - left }
    var height: Double { bottom - top }
}
