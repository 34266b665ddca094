import JSON

/// Indented JSON for people: objects one member a line, arrays of scalars on one line, so a
/// spec shown on a page can be read and pasted back into the submission form as it is.
enum PrettyJSON {
    static func format(_ value: JSONValue, indent: String = "") -> String {
        switch value {
        case .object(let object):
            guard !object.isEmpty else { return "{}" }
            let inner = indent + "  "
            let members = object.map {
                "\(inner)\(JSONValue.string($0.key).serializedString()): \(format($0.value, indent: inner))"
            }
            return "{\n" + members.joined(separator: ",\n") + "\n\(indent)}"
        case .array(let elements):
            let nested = elements.contains {
                if case .array = $0 { true } else if case .object = $0 { true } else { false }
            }
            guard nested else { return "[" + elements.map { $0.serializedString() }.joined(separator: ", ") + "]" }
            let inner = indent + "  "
            return "[\n" + elements.map { inner + format($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        default:
            return value.serializedString()
        }
    }
}
