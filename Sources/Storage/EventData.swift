/// Builds the small JSON objects of `job_events.data_json` without a JSON dependency.
enum EventData {
    /// A JSON object of the given fields, in order; `.null` fields are left out.
    static func json(_ fields: KeyValuePairs<String, SQLValue>) -> String {
        var members: [String] = []
        for (key, value) in fields {
            switch value {
            case .null: continue
            case .integer(let integer): members.append("\(quoted(key)):\(integer)")
            case .real(let real): members.append("\(quoted(key)):\(real.isFinite ? "\(real)" : "null")")
            case .text(let text): members.append("\(quoted(key)):\(quoted(text))")
            case .blob: preconditionFailure("event data holds no blobs")
            }
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
