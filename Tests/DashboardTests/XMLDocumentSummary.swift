import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// What a test needs to know about an SVG document: whether Foundation's XML parser accepts it,
/// and its elements with their attributes and text, in document order.
final class XMLDocumentSummary: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    private(set) var elements: [Element] = []
    private(set) var wellFormed = false
    private(set) var parseError: String?
    private var open: [Int] = []

    init(_ document: String) {
        super.init()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = self
        wellFormed = parser.parse()
        if !wellFormed { parseError = parser.parserError.map { "\($0)" } ?? "unknown error" }
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let index = open.last { elements[index].text += string }
    }

    /// Elements named `name`.
    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }

    /// The text of every `<text>` element, in order.
    var texts: [String] { all("text").map(\.text) }

    /// The number of points of each `<polyline>`.
    var polylineLengths: [Int] {
        all("polyline").map { ($0.attributes["points"] ?? "").split(separator: " ").count }
    }
}
