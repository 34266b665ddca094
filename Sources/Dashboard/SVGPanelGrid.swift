import Foundation

/// Several line charts as the panels of one SVG document, in rows of `columns`: a plot with many
/// blocks becomes one small chart per layer instead of one chart with a tangle of lines.
///
/// Each panel is a complete `SVGLineChart` document nested as an `<svg>` element at its place in
/// the grid (nested `svg` elements establish their own viewport, so the panel's coordinates and
/// its own title stay as they are).
struct SVGPanelGrid {
    var title: String
    var subtitle: String?
    var panels: [SVGLineChart]
    var columns = 2
    /// The whole document's width; panels share it equally.
    var width: Double = 640

    func render() -> String {
        let panelWidth = width / Double(columns)
        let panelHeight = panels.first?.height ?? 240
        let top = subtitle == nil ? 40.0 : 56
        let rows = (panels.count + columns - 1) / columns
        var svg = SVGDocument(width: width, height: top + Double(rows) * panelHeight, title: title)
        svg.text(title, x: 16, y: 24, size: 15, weight: "600")
        if let subtitle { svg.text(subtitle, x: 16, y: 42, size: 11.5, color: Palette.mutedInk) }
        for (index, panel) in panels.enumerated() {
            var chart = panel
            chart.width = panelWidth
            let x = Double(index % columns) * panelWidth, y = top + Double(index / columns) * panelHeight
            // The chart's root scales to its container; here it is placed and sized instead.
            let nested = chart.render().replacingFirst(
                "width=\"100%\"",
                with:
                    "x=\"\(Markup.coordinate(x))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(panelWidth))\" height=\"\(Markup.coordinate(panelHeight))\""
            )
            svg.raw(nested.replacingFirst(" xmlns=\"http://www.w3.org/2000/svg\"", with: ""))
        }
        return svg.finish()
    }
}

extension String {
    /// The text with the first occurrence of `target` replaced (unchanged when absent).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
