import Testing

@testable import Dashboard

@Suite("SVG image grid")
struct SVGImageGridTests {
    func digits(_ count: Int, _ value: (Int, Int) -> Double) -> [SVGImageGrid.Image] {
        (0..<count).map { image in
            SVGImageGrid.Image(title: "row \(image)", width: 8, height: 8, values: (0..<64).map { value(image, $0) })
        }
    }

    /// The pixel rectangles: filled with a colour (outlines and the colour bar are not).
    func pixels(_ document: XMLDocumentSummary) -> [XMLDocumentSummary.Element] {
        document.all("rect").filter { ($0.attributes["fill"] ?? "").hasPrefix("#") && $0.attributes["stroke"] == nil }
            .dropFirst().map { $0 }  // the first is the background
    }

    @Test func drawsOnePixelRectanglePerValueAndTitlesEachImage() {
        let grid = SVGImageGrid(title: "Learned training inputs", images: digits(10) { Double($0 + $1) / 73 })
        let document = XMLDocumentSummary(grid.render())
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(pixels(document).count == 640)
        #expect((0..<10).allSatisfy { document.texts.contains("row \($0)") })
        // Ten images in one row of a 640-wide grid: 8 pixels of equal size each.
        let widths = Set(pixels(document).map { $0.attributes["width"] })
        #expect(widths.count == 1)
        let outlines = document.all("rect").filter {
            $0.attributes["stroke"] == "#d0d7de" && $0.attributes["fill"] == "none"
        }
        #expect(outlines.count == 10)
    }

    @Test func wrapsIntoRowsOfAtMostTheColumnCount() {
        let grid = SVGImageGrid(title: "t", images: digits(25) { Double($0 * $1) }, columns: 10)
        let document = XMLDocumentSummary(grid.render())
        let outlines = document.all("rect").filter {
            $0.attributes["fill"] == "none" && $0.attributes["stroke"] == "#d0d7de"
        }
        #expect(Set(outlines.map { $0.attributes["y"] }).count == 3)
        #expect(Set(outlines.map { $0.attributes["x"] }).count == 10)
    }

    @Test func greyRunsFromWhiteAtTheMinimumToNearBlackAtTheMaximum() {
        let grid = SVGImageGrid(title: "t", images: digits(1) { _, pixel in Double(pixel) })
        let fills = pixels(XMLDocumentSummary(grid.render())).map { $0.attributes["fill"]! }
        #expect(fills.first == "#ffffff" && fills.last == "#141414")
        #expect(grid.color(at: 0.5) == "#8a8a8a")
    }

    @Test func divergingIsSymmetricAboutZero() {
        let grid = SVGImageGrid(
            title: "t", images: digits(1) { _, pixel in Double(pixel - 16) }, colorScale: .diverging)
        let range = grid.range!
        #expect(range.lower == -47 && range.upper == 47)
        #expect(grid.fraction(0, range: range) == 0.5)
        #expect(grid.color(at: 0.5) == "#f7f7f7")
        #expect(grid.color(at: 0) == "#2166ac" && grid.color(at: 1) == "#b2182b")
        let document = XMLDocumentSummary(grid.render())
        #expect(document.texts.contains("-47") && document.texts.contains("47") && document.texts.contains("0"))
    }

    @Test func theColourBarIsLabelledWithTheRange() {
        let grid = SVGImageGrid(
            title: "L2", images: digits(2) { image, pixel in 1e-5 * Double(1 + image * 64 + pixel) }, logarithmic: true)
        let document = XMLDocumentSummary(grid.render())
        #expect(document.texts.contains("1e-5") && document.texts.contains("0.00128"))
        #expect(document.texts.contains("log scale"))
        #expect(document.all("linearGradient").count == 1)
        #expect(document.all("stop").count == 2)
    }

    @Test func missingValuesLeaveBlankPixels() {
        let grid = SVGImageGrid(title: "t", images: digits(1) { _, pixel in pixel % 2 == 0 ? Double(pixel) : .nan })
        #expect(pixels(XMLDocumentSummary(grid.render())).count == 32)
        let log = SVGImageGrid(title: "t", images: digits(1) { _, pixel in Double(pixel - 32) }, logarithmic: true)
        #expect(pixels(XMLDocumentSummary(log.render())).count == 31)
    }

    @Test func anEmptyGridSaysThereIsNoDataYet() {
        let document = XMLDocumentSummary(SVGImageGrid(title: "t", images: []).render())
        #expect(document.wellFormed)
        #expect(document.texts.contains("no data yet"))
    }

    @Test func escapesImageTitles() {
        let image = SVGImageGrid.Image(title: "<b>&\"</b>", width: 1, height: 1, values: [1])
        let document = XMLDocumentSummary(SVGImageGrid(title: "a&b", images: [image]).render())
        #expect(document.wellFormed)
        #expect(document.texts.contains("<b>&\"</b>") && document.texts.contains("a&b"))
    }
}
