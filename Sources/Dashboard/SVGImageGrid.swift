import Foundation

/// Small images (learned 8×8 digits, per-weight penalty maps) rendered as a titled grid of heat
/// maps sharing one colour scale, with a colour bar labelled at its ends.
///
/// Sharing the scale makes the images comparable with one another; missing values (NaN, ±∞, or
/// non-positive on a log scale) are left blank inside each image's outline.
public struct SVGImageGrid: Sendable, Equatable {
    /// One image: `values` row by row, `width × height` of them.
    public struct Image: Sendable, Equatable {
        public var title: String
        public var width: Int
        public var height: Int
        public var values: [Double]

        public init(title: String, width: Int, height: Int, values: [Double]) {
            precondition(
                width > 0 && height > 0 && values.count == width * height, "image values must fill width × height")
            self.title = title
            self.width = width
            self.height = height
            self.values = values
        }
    }

    /// How values map to colours.
    public enum ColorScale: Sendable, Equatable {
        /// White at the minimum to near-black at the maximum, like ink on paper.
        case grey
        /// Blue through white (at zero) to red, symmetric about zero: for signed quantities.
        case diverging
    }

    public var title: String
    public var subtitle: String?
    public var images: [Image]
    public var colorScale: ColorScale
    /// Colours follow log10 of the values, for positive quantities that span decades (L2 strengths).
    public var logarithmic: Bool
    /// Images per row; at most 10 by default.
    public var columns: Int
    public var emptyMessage: String
    public var width: Double

    public init(
        title: String, subtitle: String? = nil, images: [Image], colorScale: ColorScale = .grey,
        logarithmic: Bool = false, columns: Int = 10, emptyMessage: String = "no data yet", width: Double = 640
    ) {
        self.title = title
        self.subtitle = subtitle
        // Bounded by design: a data set with 10,000 features must not become a million `<rect>`s.
        self.images = images.prefix(Self.maxImages).map { $0.downsampled(maxSide: Self.maxSide) }
        self.colorScale = colorScale
        self.logarithmic = logarithmic
        self.columns = max(1, columns)
        self.emptyMessage = emptyMessage
        self.width = width
    }

    /// At most this many images are drawn, each at most `maxSide` pixels on a side: every grid
    /// stays under 100 × 32 × 32 cells whatever the data set.
    public static let maxImages = 100
    public static let maxSide = 32

    /// The colour scale's ends, after widening a diverging scale to be symmetric about zero; nil
    /// when no value can be drawn.
    var range: (lower: Double, upper: Double)? {
        var lower = Double.infinity, upper = -Double.infinity
        for image in images {
            for value in image.values where isDrawable(value) {
                lower = min(lower, value)
                upper = max(upper, value)
            }
        }
        guard lower <= upper else { return nil }
        if colorScale == .diverging, !logarithmic {
            let limit = max(abs(lower), abs(upper))
            return (-limit, limit)
        }
        return (lower, upper)
    }

    /// The SVG document.
    public func render() -> String {
        let top = subtitle == nil ? 44.0 : 58.0
        let columnCount = min(columns, max(1, images.count))
        let gap = 12.0
        let cell = min(84, (width - 32 - Double(columnCount - 1) * gap) / Double(columnCount))
        let maxSide = Double(images.map { max($0.width, $0.height) }.max() ?? 1)
        let pixel = cell / maxSide
        let imageHeight = Double(images.map(\.height).max() ?? 1) * pixel
        let rowHeight = 16 + imageHeight + gap
        let rows = (images.count + columnCount - 1) / columnCount
        let height = images.isEmpty ? 200 : top + Double(rows) * rowHeight + 46

        var svg = SVGDocument(width: width, height: height, title: title)
        svg.text(title, x: 16, y: 24, size: 15, weight: "600")
        if let subtitle { svg.text(subtitle, x: 16, y: 42, size: 11.5, color: Palette.mutedInk) }
        guard let range else {
            svg.text(
                emptyMessage, x: width / 2, y: (top + height) / 2, size: 14, color: Palette.mutedInk, anchor: "middle")
            return svg.finish()
        }

        svg.raw("<g shape-rendering=\"crispEdges\">\n")
        for (index, image) in images.enumerated() {
            let x = 16 + Double(index % columnCount) * (cell + gap)
            let y = top + Double(index / columnCount) * rowHeight
            svg.text(
                image.title, x: x + Double(image.width) * pixel / 2, y: y + 11, size: 11, color: Palette.mutedInk,
                anchor: "middle")
            let imageTop = y + 16
            for row in 0..<image.height {
                for column in 0..<image.width {
                    let value = image.values[row * image.width + column]
                    guard isDrawable(value) else { continue }
                    // Each pixel overlaps its neighbours by a hair so no seams show between them.
                    svg.element(
                        "rect",
                        [
                            ("x", Markup.coordinate(x + Double(column) * pixel)),
                            ("y", Markup.coordinate(imageTop + Double(row) * pixel)),
                            ("width", Markup.coordinate(pixel + 0.3)), ("height", Markup.coordinate(pixel + 0.3)),
                            ("fill", color(at: fraction(value, range: range))),
                        ])
                }
            }
            svg.element(
                "rect",
                [
                    ("x", x), ("y", imageTop), ("width", Double(image.width) * pixel),
                    ("height", Double(image.height) * pixel),
                ].map(SVGDocument.number) + [("fill", "none"), ("stroke", "#d0d7de")])
        }
        svg.raw("</g>\n")
        drawColorBar(into: &svg, range: range, top: height - 38)
        return svg.finish()
    }

    func isDrawable(_ value: Double) -> Bool {
        value.isFinite && (!logarithmic || value > 0)
    }

    /// Where `value` sits on the colour scale, 0 at the lower end and 1 at the upper.
    func fraction(_ value: Double, range: (lower: Double, upper: Double)) -> Double {
        let (lower, upper, v) =
            logarithmic ? (log10(range.lower), log10(range.upper), log10(value)) : (range.lower, range.upper, value)
        guard upper > lower else { return 0.5 }
        return min(1, max(0, (v - lower) / (upper - lower)))
    }

    private var stops: [(Double, (Int, Int, Int))] {
        switch colorScale {
        case .grey: [(0, (255, 255, 255)), (1, (20, 20, 20))]
        case .diverging:
            // ColorBrewer RdBu, readable under the common colour-vision deficiencies.
            [
                (0, (33, 102, 172)), (0.25, (146, 197, 222)), (0.5, (247, 247, 247)), (0.75, (244, 165, 130)),
                (1, (178, 24, 43)),
            ]
        }
    }

    /// The colour at `t` in [0, 1], as `#rrggbb`.
    func color(at t: Double) -> String {
        let stops = self.stops
        var index = 0
        while index < stops.count - 2, t > stops[index + 1].0 { index += 1 }
        let (t0, c0) = stops[index], (t1, c1) = stops[index + 1]
        let s = (t - t0) / (t1 - t0)
        func mix(_ a: Int, _ b: Int) -> Int { Int((Double(a) + (Double(b) - Double(a)) * s).rounded()) }
        return String(format: "#%02x%02x%02x", mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2))
    }

    private func drawColorBar(into svg: inout SVGDocument, range: (lower: Double, upper: Double), top: Double) {
        let barWidth = 220.0, barHeight = 10.0
        let left = 16 + Markup.estimatedWidth(Markup.compact(range.lower), fontSize: 11) + 8
        svg.raw("<defs><linearGradient id=\"colorbar\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">")
        for (offset, _) in stops {
            svg.raw("<stop offset=\"\(Markup.coordinate(offset))\" stop-color=\"\(color(at: offset))\"/>")
        }
        svg.raw("</linearGradient></defs>\n")
        svg.element(
            "rect",
            [("x", left), ("y", top), ("width", barWidth), ("height", barHeight)].map(SVGDocument.number)
                + [("fill", "url(#colorbar)"), ("stroke", "#d0d7de")])
        let labelY = top + barHeight - 1
        svg.text(Markup.compact(range.lower), x: left - 6, y: labelY, size: 11, color: Palette.mutedInk, anchor: "end")
        svg.text(Markup.compact(range.upper), x: left + barWidth + 6, y: labelY, size: 11, color: Palette.mutedInk)
        if colorScale == .diverging, !logarithmic {
            svg.text(
                "0", x: left + barWidth / 2, y: top + barHeight + 13, size: 11, color: Palette.mutedInk,
                anchor: "middle")
        }
        if logarithmic {
            let note = "log scale"
            let x = left + barWidth + 14 + Markup.estimatedWidth(Markup.compact(range.upper), fontSize: 11)
            svg.text(note, x: x, y: labelY, size: 11, color: Palette.mutedInk)
        }
    }
}

extension SVGImageGrid.Image {
    /// The image shrunk by averaging blocks of pixels (missing values skipped) until no side is
    /// longer than `maxSide`; unchanged when it already fits.
    func downsampled(maxSide: Int) -> SVGImageGrid.Image {
        guard width > maxSide || height > maxSide else { return self }
        let factor = (max(width, height) + maxSide - 1) / maxSide
        let newWidth = (width + factor - 1) / factor, newHeight = (height + factor - 1) / factor
        var values = [Double](repeating: .nan, count: newWidth * newHeight)
        for row in 0..<newHeight {
            for column in 0..<newWidth {
                var sum = 0.0, count = 0
                for y in (row * factor)..<min(height, (row + 1) * factor) {
                    for x in (column * factor)..<min(width, (column + 1) * factor) {
                        let value = self.values[y * width + x]
                        if value.isFinite { sum += value; count += 1 }
                    }
                }
                if count > 0 { values[row * newWidth + column] = sum / Double(count) }
            }
        }
        return SVGImageGrid.Image(title: title, width: newWidth, height: newHeight, values: values)
    }
}
