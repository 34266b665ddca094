/// Builds the text of one SVG document, escaping every attribute value and text node.
///
/// The root fixes a viewBox and sets `width="100%"`, so a plot scales to its container (an `<img>`
/// in a page, or a browser tab when opened at its own URL) and keeps its proportions.
struct SVGDocument {
    private var body: String = ""
    private let header: String

    init(width: Double, height: Double, title: String) {
        let w = Markup.coordinate(width), h = Markup.coordinate(height)
        header = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(w) \(h)" width="100%" \
            role="img" aria-label="\(Markup.escape(title))" font-family="\(Markup.escape(Palette.fontFamily))">
            <title>\(Markup.escape(title))</title>
            <rect x="0" y="0" width="\(w)" height="\(h)" fill="\(Palette.background)"/>

            """
    }

    /// An attribute whose value is a coordinate.
    static func number(_ pair: (String, Double)) -> (String, String) {
        (pair.0, Markup.coordinate(pair.1))
    }

    /// An empty element `<name a="v" .../>`.
    mutating func element(_ name: String, _ attributes: [(String, String)]) {
        body += "<\(name)"
        for (key, value) in attributes { body += " \(key)=\"\(Markup.escape(value))\"" }
        body += "/>\n"
    }

    /// Raw markup the caller built from escaped parts (gradients, groups).
    mutating func raw(_ markup: String) {
        body += markup
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String, width: Double = 1) {
        element(
            "line",
            [("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2), ("stroke-width", width)].map(Self.number) + [
                ("stroke", color)
            ])
    }

    mutating func text(
        _ content: String, x: Double, y: Double, size: Double, color: String = Palette.ink, anchor: String = "start",
        weight: String? = nil, transform: String? = nil
    ) {
        var attributes = [("x", x), ("y", y), ("font-size", size)].map(Self.number)
        attributes.append(("fill", color))
        if anchor != "start" { attributes.append(("text-anchor", anchor)) }
        if let weight { attributes.append(("font-weight", weight)) }
        if let transform { attributes.append(("transform", transform)) }
        body += "<text"
        for (key, value) in attributes { body += " \(key)=\"\(Markup.escape(value))\"" }
        body += ">\(Markup.escape(content))</text>\n"
    }

    /// The whole document.
    func finish() -> String {
        header + body + "</svg>\n"
    }
}
