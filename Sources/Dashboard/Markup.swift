import Foundation

/// Text for SVG and HTML output: escaping and the number spellings a reader expects.
///
/// Every string that reaches a page or a plot passes through `escape`, because job names and
/// block names come from users. Number spellings are fixed functions of the value, so the same
/// input always renders to the same bytes.
enum Markup {
    /// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values, and replaces the control
    /// characters XML 1.0 forbids (everything below U+0020 but tab, line feed and carriage return)
    /// with U+FFFD, so a hostile name cannot make a document ill-formed.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            case "\u{0}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": result += "\u{FFFD}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A coordinate with one decimal: a tenth of a viewBox unit is below what a screen shows, and
    /// shorter numbers keep plots small.
    static func coordinate(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.1f", rounded)
    }

    /// A tick label: `decimals` digits after the point for ordinary magnitudes, the short
    /// scientific form ("1e-4", "2.5e6") for very small or large ones.
    static func tick(_ value: Double, decimals: Int) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return scientific(value) }
        return String(format: "%.*f", max(0, decimals), value)
    }

    /// `value` with up to three significant digits in the short scientific form: "1e-4", "2.5e-5".
    static func scientific(_ value: Double) -> String {
        guard value.isFinite, value != 0 else { return value == 0 ? "0" : "–" }
        var exponent = Int(floor(log10(abs(value))))
        var mantissa = value / pow(10, Double(exponent))
        mantissa = (mantissa * 100).rounded() / 100
        if abs(mantissa) >= 10 {
            mantissa /= 10
            exponent += 1
        }
        var digits = String(format: "%.2f", mantissa)
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.hasSuffix(".") { digits.removeLast() }
        return "\(digits)e\(exponent)"
    }

    /// A measurement with four significant digits ("0.4123", "12.35", "3.2e-5"); "–" when missing.
    static func significant(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return scientific(value) }
        let decimals = max(0, 3 - Int(floor(log10(magnitude))))
        return String(format: "%.*f", decimals, value)
    }

    /// Up to three significant digits without trailing zeros ("1.5", "0.00546", "1.83e-6"), for
    /// labels that name a value rather than align in a column.
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return scientific(value) }
        let decimals = max(0, 2 - Int(floor(log10(magnitude))))
        var text = String(format: "%.*f", decimals, value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// A count such as a meta-iteration ("20"); "–" when missing.
    static func integer(_ value: Double?) -> String {
        guard let value, value.isFinite, abs(value) < 1e15 else { return "–" }
        return String(Int(value.rounded()))
    }

    /// A fraction as a percentage with one decimal ("13.0 %"); "–" when missing.
    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f %%", value * 100)
    }

    /// Percent-encodes a path segment (an id) so that it cannot leave its segment of a URL.
    static func pathSegment(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    /// Approximate width of `text` in a sans-serif face at `fontSize`, for laying out legends and
    /// labels without font metrics (the average Latin glyph is about 0.58 em wide).
    static func estimatedWidth(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.58
    }
}
